import Foundation

/// A shutdown request shared by every stage: sources stop producing, everything already
/// accepted drains to the sinks.
public final class ShutdownSignal: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `requested` and `reason` are only touched under `lock`.
    private let lock = NSLock()
    private var requested = false
    private var reasonText: String?

    /// Creates an un-triggered signal.
    public init() {}

    /// Whether shutdown was requested.
    public var isRequested: Bool { lock.withLock { requested } }

    /// Why, when requested.
    public var reason: String? { lock.withLock { reasonText } }

    /// Requests shutdown (the first reason is kept).
    public func request(_ reason: String) {
        lock.withLock {
            if !requested { reasonText = reason }
            requested = true
        }
    }
}

/// Installs SIGINT/SIGTERM handlers that request a drain on the first signal and exit at
/// once on the second.
public final class SignalTrap: @unchecked Sendable {
    // Invariant for @unchecked Sendable: the sources are created in init and only cancelled in
    // deinit; handlers run on their own serial queue.
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "spkdeblur.signals")

    /// Starts trapping; `onFirst` runs on the first signal.
    public init(shutdown: ShutdownSignal, onFirst: @escaping @Sendable (String) -> Void = { _ in }) {
        for (sig, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler {
                if shutdown.isRequested {
                    FileHandle.standardError.write(Data("\n\(name) again: aborting without draining\n".utf8))
                    exit(130)
                }
                shutdown.request(name)
                onFirst(name)
            }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for s in sources { s.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

import Foundation

/// A progress line on a terminal: frames done, rate and ETA; plain periodic lines elsewhere.
public final class ProgressReporter: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `timer` is created in start and cancelled in stop,
    // both called from the owning task; the handler only reads Sendable state.
    private var timer: DispatchSourceTimer?
    private let isTerminal: Bool

    /// Creates a reporter writing to standard error.
    public init() { isTerminal = isatty(STDERR_FILENO) == 1 }

    /// Starts reporting `done()` items (of `total`, when known) every `interval`.
    public func start(label: String, total: Int?, interval: Double = 0.25, done: @escaping @Sendable () -> Int) {
        let begin = Date()
        let terminal = isTerminal
        let period = terminal ? interval : max(interval, 5)
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "spkdeblur.progress"))
        t.schedule(deadline: .now() + period, repeating: period)
        t.setEventHandler {
            let n = done()
            let elapsed = Date().timeIntervalSince(begin)
            let rate = elapsed > 0 ? Double(n) / elapsed : 0
            var line = String(format: "%@: %d", label, n)
            if let total {
                line += " / \(total)"
                let width = 24
                let filled = total > 0 ? min(width, width * n / total) : 0
                line =
                    "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
                    + line
                if rate > 0 && n < total { line += String(format: ", ETA %.0f s", Double(total - n) / rate) }
            }
            line += String(format: ", %.1f frames/s", rate)
            let text = terminal ? "\r\u{1B}[2K" + line : line + "\n"
            FileHandle.standardError.write(Data(text.utf8))
        }
        t.resume()
        timer = t
    }

    /// Stops reporting (and ends the terminal line).
    public func stop() {
        timer?.cancel()
        timer = nil
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}

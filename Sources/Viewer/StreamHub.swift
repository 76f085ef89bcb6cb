import NIOCore
import NIOHTTP1

/// Fans the newest `multipart/x-mixed-replace` part out to every stream client, latest
/// frame wins per client: a client gets a new part only when its previous one has been
/// written to its socket, so a slow or paused browser skips frames and holds at most one
/// part in memory, and `publish` never waits for any client.
public final class StreamHub: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `clients`, `latest`, `version` and the counters are
    // only touched on `loop`; `publish` (any thread) hops there with `execute`.

    /// The multipart boundary.
    public static let boundary = "spkdeblurframe"
    let loop: any EventLoop
    private var clients: [ObjectIdentifier: Client] = [:]
    private var latest: ByteBuffer?
    private var version = 0
    private var sent = 0
    private var skipped = 0
    private var connections = 0
    private let onClientsChanged: @Sendable (Int) -> Void

    /// - Parameter onClientsChanged: called on the loop with the number of stream clients.
    public init(loop: any EventLoop, onClientsChanged: @escaping @Sendable (Int) -> Void) {
        self.loop = loop
        self.onClientsChanged = onClientsChanged
    }

    /// Makes `part` (a whole multipart part: boundary, headers, bytes) the newest one and
    /// offers it to the clients that are ready for it. Returns at once.
    public func publish(_ part: [UInt8]) {
        loop.execute { [self] in
            var buffer = ByteBufferAllocator().buffer(capacity: part.count)
            buffer.writeBytes(part)
            latest = buffer
            version += 1
            for c in clients.values { c.offer() }
        }
    }

    /// Counters, read on the loop: stream clients now, parts written, parts skipped for
    /// slow clients, stream connections so far.
    public func statistics() -> (clients: Int, sent: Int, skipped: Int, connections: Int) {
        loop.preconditionInEventLoop()
        return (clients.count, sent, skipped, connections)
    }

    func add(_ client: Client) {
        loop.preconditionInEventLoop()
        client.hub = self
        clients[ObjectIdentifier(client)] = client
        connections += 1
        onClientsChanged(clients.count)
        client.offer()
    }

    func remove(_ client: Client) {
        if clients.removeValue(forKey: ObjectIdentifier(client)) != nil { onClientsChanged(clients.count) }
    }

    /// One streaming connection; lives on the hub's loop.
    final class Client {
        private let context: ChannelHandlerContext
        private let handler: ConnectionHandler
        var hub: StreamHub?
        private var sentVersion = 0
        private var inFlight = false
        private var open = true

        init(context: ChannelHandlerContext, handler: ConnectionHandler) {
            self.context = context
            self.handler = handler
        }

        /// Writes the hub's newest part unless the previous write is still pending.
        func offer() {
            guard open, !inFlight, let hub, let part = hub.latest, hub.version > sentVersion else { return }
            if sentVersion > 0 { hub.skipped += hub.version - sentVersion - 1 }
            sentVersion = hub.version
            inFlight = true
            hub.sent += 1
            context.writeAndFlush(handler.wrap(.body(.byteBuffer(part)))).assumeIsolated().whenComplete {
                [self] result in
                inFlight = false
                switch result {
                case .success: offer()
                case .failure: close()
                }
            }
        }

        func close() {
            guard open else { return }
            open = false
            hub?.remove(self)
            context.close(promise: nil)
        }
    }
}

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A request as the viewer's routes see it: method, path, query and (small) body.
public struct HTTPRequest: Sendable {
    /// `GET`, `POST`, ...
    public var method: String
    /// The path without the query, e.g. `/frame/sharp/3.png`.
    public var path: String
    /// Query parameters (`a=b&c`; a key without a value maps to "").
    public var query: [String: String]
    /// The body, at most ``HTTPServer/maximumBodyBytes``.
    public var body: [UInt8]
}

/// A complete response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int = 200, contentType: String, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// A plain-text response, e.g. for errors.
    public static func text(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8))
    }

    /// A JSON response.
    public static func json(_ text: String) -> HTTPResponse {
        HTTPResponse(contentType: "application/json", body: Array(text.utf8))
    }
}

/// What a route answers.
public enum HTTPReply: Sendable {
    /// Answer now (the route ran on the event loop: it must be quick).
    case response(HTTPResponse)
    /// Answer later: the closure runs on the event loop and must hand the work to another
    /// queue (image encoding, file reads); the callback may be called from any thread.
    case deferred(@Sendable (@escaping @Sendable (HTTPResponse) -> Void) -> Void)
    /// Keep the connection open as a `multipart/x-mixed-replace` stream fed by the hub.
    case stream(StreamHub)
}

/// A small HTTP/1.1 server on its own event loop thread (SwiftNIO), so nothing it does runs
/// on Swift's cooperative threads or waits for the pipeline.
public final class HTTPServer: Sendable {
    /// Request bodies beyond this are cut (the viewer only accepts small JSON).
    public static let maximumBodyBytes = 1 << 20
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    /// The address actually bound (the port is the OS's choice when 0 was asked for).
    public let host: String
    public let port: Int

    /// The event loop every connection runs on.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Binds `host:port` and serves `route`.
    /// - Throws: ``ViewerError`` naming the address when it cannot be bound.
    public init(host: String, port: Int, route: @escaping @Sendable (HTTPRequest) -> HTTPReply)
        async throws(ViewerError)
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(route: route))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            self.group = group
            self.channel = channel
            self.host = host
            self.port = channel.localAddress?.port ?? port
        } catch {
            try? await group.shutdownGracefully()
            throw ViewerError("cannot listen on \(host):\(port): \(error)")
        }
    }

    /// `http://host:port/`.
    public var url: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)/"
    }

    /// Waits until the server is closed.
    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }

    /// Stops listening, closes every connection and ends the event loop thread.
    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// A failure of the viewer, one line.
public struct ViewerError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "viewer: \(message)" }
}

/// One connection: collects a request, routes it, writes the reply.
final class ConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let route: @Sendable (HTTPRequest) -> HTTPReply
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var streamClient: StreamHub.Client?

    init(route: @escaping @Sendable (HTTPRequest) -> HTTPReply) { self.route = route }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(var b):
            let room = HTTPServer.maximumBodyBytes - body.count
            if room > 0, let bytes = b.readBytes(length: min(room, b.readableBytes)) { body += bytes }
        case .end:
            guard let h = head else { return }
            head = nil
            handle(h, context: context)
        }
    }

    private func handle(_ h: HTTPRequestHead, context: ChannelHandlerContext) {
        let (path, query) = Self.split(h.uri)
        let request = HTTPRequest(method: h.method.rawValue, path: path, query: query, body: body)
        let keepAlive = h.isKeepAlive
        switch route(request) {
        case .response(let r):
            write(r, keepAlive: keepAlive, context: context)
        case .deferred(let work):
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            work { response in
                loop.execute {
                    let (handler, context) = bound.value
                    handler.write(response, keepAlive: keepAlive, context: context)
                }
            }
        case .stream(let hub):
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "multipart/x-mixed-replace; boundary=\(StreamHub.boundary)")
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "Connection", value: "close")
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .ok, headers: headers))),
                promise: nil)
            let client = StreamHub.Client(context: context, handler: self)
            streamClient = client
            hub.add(client)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        streamClient?.close()
        streamClient = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A browser that goes away mid-write (reset) is normal for a viewer.
        context.close(promise: nil)
    }

    func wrap(_ part: HTTPServerResponsePart) -> NIOAny { wrapOutboundOut(part) }

    func write(_ r: HTTPResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: r.contentType)
        headers.add(name: "Content-Length", value: "\(r.body.count)")
        headers.add(name: "Cache-Control", value: "no-store")
        for (k, v) in r.headers { headers.add(name: k, value: v) }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: r.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: r.body.count)
        buffer.writeBytes(r.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// Splits `/a/b?x=1&y` into the path and its decoded query.
    static func split(_ uri: String) -> (String, [String: String]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts.first ?? "/").removingPercentEncoding ?? String(parts.first ?? "/")
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                let value = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
                query[key] = value
            }
        }
        return (path, query)
    }
}

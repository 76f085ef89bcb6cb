internal import CZeroMQ

/// The messaging pattern of a socket.
public enum SocketType: Sendable, Hashable, CaseIterable {
    /// Publisher: fans messages out to subscribers, drops at the high-water mark (`ZMQ_PUB`).
    case pub
    /// Subscriber: receives the messages whose first part starts with a subscribed prefix (`ZMQ_SUB`).
    case sub
    /// Pipeline sender: blocks (or times out) at the high-water mark, never drops (`ZMQ_PUSH`).
    case push
    /// Pipeline receiver (`ZMQ_PULL`).
    case pull
    /// Exclusive pair (`ZMQ_PAIR`).
    case pair
    /// Request (`ZMQ_REQ`).
    case req
    /// Reply (`ZMQ_REP`).
    case rep
    /// Asynchronous request (`ZMQ_DEALER`).
    case dealer
    /// Asynchronous reply (`ZMQ_ROUTER`).
    case router

    var rawValue: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pair: ZMQ_PAIR
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        }
    }
}

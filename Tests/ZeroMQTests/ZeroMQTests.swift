import Foundation
import Synchronization
import Testing

@testable import ZeroMQ

/// Runs `body` on a fresh thread and reports whether it finished within `timeout`.
func finishes(within timeout: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    Thread {
        body()
        done.signal()
    }.start()
    return done.wait(timeout: .now() + timeout) == .success
}

func tempDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("zmq-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct SocketTests {
    @Test(arguments: ["tcp", "ipc"])
    func pushPullMultipartRoundTrip(transport: String) throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        let dir = try tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let endpoint: String
        if transport == "tcp" {
            try pull.bind("tcp://127.0.0.1:*")
            endpoint = try pull.lastEndpoint()
            #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
            #expect(!endpoint.hasSuffix(":*"))
        } else {
            endpoint = "ipc://\(dir.path)/s.sock"
            try pull.bind(endpoint)
        }
        let push = try Socket(context, type: .push)
        try push.connect(endpoint)
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let sent = [Message([1, 2, 3], [], big), Message([9])]
        for m in sent { #expect(try push.send(m) == .sent) }
        for m in sent {
            let got = try pull.receive(timeout: .seconds(5))
            // Compare as a Bool: a failure must not print 100 kB of bytes.
            #expect(got.message?.parts.map(\.count) == m.parts.map(\.count))
            #expect(Bool(got == .message(m)))
        }
        #expect(try pull.receive(timeout: .zero) == .timedOut)
        push.close()
        pull.close()
        #expect(push.isClosed && pull.isClosed)
    }

    /// Lent parts go out without a copy and arrive intact; libzmq lets go of the owner once it
    /// has written them. Received parts of at least `zeroCopyBytes` stay in libzmq's buffer
    /// (pinned, the same bytes each time they are read); shorter ones are plain arrays.
    @Test func lentPartsAreSentAndBigPartsReceivedWithoutACopy() throws {
        final class Region: @unchecked Sendable {
            let base: UnsafeMutableRawPointer
            let count: Int
            init(count: Int) {
                self.count = count
                base = .allocate(byteCount: count, alignment: 64)
                for i in 0..<count {
                    base.storeBytes(of: UInt8(truncatingIfNeeded: i &* 13), toByteOffset: i, as: UInt8.self)
                }
            }
            deinit { base.deallocate() }
            var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: base, count: count)) }
        }
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.bind("tcp://127.0.0.1:*")
        let push = try Socket(context, type: .push)
        try push.connect(try pull.lastEndpoint())
        weak var watched: Region?
        var expected: [UInt8] = []
        do {
            let region = Region(count: 300_000)
            watched = region
            expected = region.bytes
            let parts: [OutgoingPart] = [
                .bytes([7, 7]), .lent(UnsafeRawBufferPointer(start: region.base, count: region.count), owner: region),
                .lent(UnsafeRawBufferPointer(start: region.base, count: 5), owner: region), .bytes([]),
            ]
            #expect(parts.map(\.count) == [2, 300_000, 5, 0])
            #expect(try push.send(parts) == .sent)
        }
        guard case .parts(let got) = try pull.receiveParts(timeout: .seconds(5)) else {
            Issue.record("nothing received")
            return
        }
        #expect(got.map(\.count) == [2, 300_000, 5, 0])
        #expect(got[0].bytes == [7, 7] && got[0].pinned == nil)
        #expect(got[1].bytes == expected)
        #expect(got[2].bytes == Array(expected.prefix(5)) && got[2].pinned == nil && got[3].bytes.isEmpty)
        let (pinned, owner) = try #require(got[1].pinned)
        #expect(pinned.count == 300_000 && Array(pinned) == expected)
        got[1].withUnsafeBytes { #expect($0.baseAddress == pinned.baseAddress) }
        _ = owner
        // The sender's region is released by libzmq's free callback once written.
        let deadline = ContinuousClock.now + .seconds(5)
        while watched != nil, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(watched == nil)
        #expect(try pull.receiveParts(timeout: .zero).isTimedOut)
    }

    /// Parts of at least `Socket.zeroCopyBytes` are lent to libzmq rather than copied: they
    /// arrive intact, many in a row (each freed by libzmq's callback once written), and the
    /// sender's arrays are unchanged.
    @Test func bigPartsAreSentWithoutACopyAndArriveIntact() throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.bind("tcp://127.0.0.1:*")
        let push = try Socket(context, type: .push)
        try push.connect(try pull.lastEndpoint())
        let big = (0..<(5 * Socket.zeroCopyBytes)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) }
        let exact = [UInt8](repeating: 7, count: Socket.zeroCopyBytes)
        for i in 0..<50 {
            let message = Message([UInt8(i)], big, exact, [])
            #expect(try push.send(message) == .sent)
            let got = try pull.receive(timeout: .seconds(5))
            #expect(Bool(got == .message(message)))
        }
        #expect(big.count == 5 * Socket.zeroCopyBytes && big[12_345] == UInt8(truncatingIfNeeded: 12_345 &* 13 &+ 24))
        push.close()
        pull.close()
    }

    @Test func receiveTimesOutAsAValue() throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.bind("inproc://timeout")
        let start = ContinuousClock.now
        #expect(try pull.receive(timeout: .milliseconds(30)) == .timedOut)
        #expect(ContinuousClock.now - start >= .milliseconds(25))
        try pull.setReceiveTimeout(.milliseconds(10))
        #expect(try pull.receive() == .timedOut)
    }

    @Test(arguments: [1, 4])
    func sendHighWaterMarkMakesSendWouldBlock(hwm: Int) throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.setReceiveHighWaterMark(hwm)
        try pull.bind("inproc://hwm")
        let push = try Socket(context, type: .push)
        try push.setSendHighWaterMark(hwm)
        try push.connect("inproc://hwm")
        var queued = 0
        var result = SendResult.sent
        while queued < 1000 {
            result = try push.send(Message([UInt8(queued & 0xFF)]), timeout: .zero)
            if result != .sent { break }
            queued += 1
        }
        #expect(result == .wouldBlock)
        // inproc queues hold about SNDHWM + RCVHWM messages.
        #expect(queued >= hwm && queued <= 2 * hwm + 2)
        #expect(try push.send(Message([0]), timeout: .milliseconds(20)) == .wouldBlock)
        // Draining the queue makes room again.
        var drained = 0
        while try pull.receive(timeout: .milliseconds(20)).message != nil { drained += 1 }
        #expect(drained == queued)
        #expect(try push.send(Message([0]), timeout: .seconds(1)) == .sent)
    }

    @Test func defaultLingerLetsShutdownDropUnsentMessages() throws {
        // A PUSH connected to a port nobody listens on queues its message; with an infinite
        // linger, terminating the context would wait forever.
        let probe = try Context()
        let listener = try Socket(probe, type: .pull)
        try listener.bind("tcp://127.0.0.1:*")
        let deadEndpoint = try listener.lastEndpoint()
        listener.close()
        let ok = finishes(within: 5) {
            do {
                let context = try Context()
                let push = try Socket(context, type: .push)
                try push.connect(deadEndpoint)
                _ = try push.send(Message([1, 2, 3]), timeout: .zero)
                push.close()
            } catch {
                Issue.record("\(error)")
            }
        }
        #expect(ok)
        #expect(Socket.defaultLinger == .zero)
    }

    @Test func contextShutdownWakesABlockedReceiver() throws {
        let context = try Context()
        let entered = DispatchSemaphore(value: 0)
        let outcome = Mutex<ReceiveResult?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            do {
                let pull = try Socket(context, type: .pull)
                try pull.bind("inproc://blocked")
                entered.signal()
                let r = try pull.receive()  // blocks: no timeout, nobody sends
                outcome.withLock { $0 = r }
                pull.close()
            } catch {
                Issue.record("\(error)")
                entered.signal()
            }
            done.signal()
        }.start()
        entered.wait()
        Thread.sleep(forTimeInterval: 0.05)
        context.shutdown()
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(outcome.withLock { $0 } == .terminated)
    }

    @Test func subscriberFiltersByPrefix() throws {
        let context = try Context()
        let sub = try Socket(context, type: .sub)
        try sub.subscribe(prefix: Array("SPK1".utf8))
        try sub.bind("tcp://127.0.0.1:*")
        let pub = try Socket(context, type: .pub)
        try pub.connect(sub.lastEndpoint())
        // PUB drops until the subscription has travelled back (slow joiner): resend until seen.
        var got: Message?
        for _ in 0..<200 where got == nil {
            try pub.send(Message(Array("RGB1x".utf8)))
            try pub.send(Message(Array("SPK1a".utf8), [7]))
            got = try sub.receive(timeout: .milliseconds(20)).message
        }
        #expect(got == Message(Array("SPK1a".utf8), [7]))
        for _ in 0..<5 {
            if let m = try sub.receive(timeout: .milliseconds(20)).message {
                #expect(m.parts[0].starts(with: Array("SPK1".utf8)))
            }
        }
    }

    @Test func failuresCarryEndpointErrnoAndText() throws {
        let context = try Context()
        let a = try Socket(context, type: .pull)
        try a.bind("tcp://127.0.0.1:*")
        let taken = try a.lastEndpoint()
        let b = try Socket(context, type: .pull)
        let error = #expect(throws: ZeroMQError.self) { try b.bind(taken) }
        #expect(error?.endpoint == taken)
        #expect(error?.operation == "bind")
        #expect(error?.errno == 98)  // EADDRINUSE on Linux
        #expect(error?.message.isEmpty == false)
        #expect(error?.description.contains(taken) == true)
        let bad = #expect(throws: ZeroMQError.self) { try b.connect("nonsense://x") }
        #expect(bad?.endpoint == "nonsense://x")
        // A PUSH socket cannot receive.
        let push = try Socket(context, type: .push)
        #expect(throws: ZeroMQError.self) { _ = try push.receive(timeout: .zero) }
    }

    @Test(arguments: [
        (Duration?.none, -1), (.zero, 0), (.milliseconds(5), 5), (.microseconds(1), 1),
        (.seconds(2), 2000), (.milliseconds(-3), 0),
    ])
    func timeoutMilliseconds(duration: Duration?, ms: Int) {
        #expect(Socket.milliseconds(duration) == ms)
    }

    @Test func libzmqIsVersion4() {
        #expect(libzmqVersion().major == 4)
    }
}

@Suite struct ReceiveLoopTests {
    @Test func deliversInOrderAndStopsOnRequest() throws {
        let context = try Context()
        let received = Mutex<[Message]>([])
        let loop = try ReceiveLoop(context: context, configuration: .init(attach: .bind("tcp://127.0.0.1:*"))) { m in
            received.withLock { $0.append(m) }
            return .continue
        }
        let push = try Socket(context, type: .push)
        try push.connect(loop.endpoint)
        for i in 0..<50 { try push.send(Message([UInt8(i)], [UInt8(i), 1])) }
        let deadline = ContinuousClock.now + .seconds(5)
        while received.withLock({ $0.count }) < 50 && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.005)
        }
        loop.stop()
        let got = received.withLock { $0 }
        #expect(got == (0..<50).map { Message([UInt8($0)], [UInt8($0), 1]) })
        #expect(loop.error == nil)
    }

    @Test func handlerStopAndContextShutdownEndTheLoop() throws {
        let context = try Context()
        let loop = try ReceiveLoop(context: context, configuration: .init(attach: .bind("inproc://loop"))) { _ in .stop
        }
        let push = try Socket(context, type: .push)
        try push.connect("inproc://loop")
        try push.send(Message([1]))
        #expect(loop.wait(timeout: .seconds(5)))

        let idle = try ReceiveLoop(
            context: context, configuration: .init(attach: .bind("inproc://idle"), pollInterval: .seconds(60))
        ) { _ in .continue }
        #expect(!idle.wait(timeout: .milliseconds(20)))
        push.close()
        context.shutdown()
        #expect(idle.wait(timeout: .seconds(5)))
    }

    @Test func setupFailureIsThrown() throws {
        let context = try Context()
        #expect(throws: ZeroMQError.self) {
            _ = try ReceiveLoop(context: context, configuration: .init(attach: .bind("bogus"))) { _ in .continue }
        }
    }
}

import Foundation
import Testing

@testable import Pipeline

@Suite struct ChannelConcurrencyTests {
    @Test(arguments: [1, 3])
    func manySendersOneReceiverLoseNothing(capacity: Int) async {
        let c = BoundedChannel<Int>(capacity: capacity)
        await withTaskGroup(of: Void.self) { group in
            for p in 0..<3 {
                group.addTask { for i in 0..<2000 { await c.send(p * 10_000 + i) } }
            }
            var got: [Int] = []
            for _ in 0..<6000 {
                guard let v = await c.receive() else { break }
                got.append(v)
            }
            #expect(got.count == 6000)
            for p in 0..<3 {
                let mine = got.filter { $0 / 10_000 == p }
                #expect(mine == mine.sorted())
            }
        }
    }

    @Test func cancellingAWaitingReceiverReturnsNil() async {
        let c = BoundedChannel<Int>(capacity: 2)
        let task = Task { await c.receive() }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        #expect(await task.value == nil)
        // The channel still works for the next receiver.
        await c.send(7)
        #expect(await c.receive() == 7)
    }

    @Test func cancellingABlockedSenderReturnsFalse() async {
        let c = BoundedChannel<Int>(capacity: 1)
        await c.send(1)
        let task = Task { await c.send(2) }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        #expect(await task.value == false)
        #expect(await c.receive() == 1)
        #expect(c.statistics.depth == 0)
    }

    @Test func dropOldestReleasesDroppedItemsAtOnce() async {
        final class Token: Sendable {}
        let c = BoundedChannel<Token>(capacity: 2, policy: .dropOldest)
        weak var first: Token?
        do {
            let t = Token()
            first = t
            await c.send(t)
        }
        #expect(first != nil)
        for _ in 0..<5 { await c.send(Token()) }
        // The first item was dropped and nothing holds it any more (no receive happened).
        #expect(first == nil)
        #expect(c.statistics.dropped == 4)
    }
}

import Testing

@testable import Pipeline

@Suite struct BoundedChannelTests {
    @Test(arguments: [1, 3, 8])
    func dropOldestKeepsTheNewest(capacity: Int) async {
        let c = BoundedChannel<Int>(capacity: capacity, policy: .dropOldest)
        for i in 0..<20 { await c.send(i) }
        c.finish()
        var got: [Int] = []
        while let v = await c.receive() { got.append(v) }
        #expect(got == Array((20 - capacity)..<20))
        #expect(c.statistics.dropped == 20 - capacity)
        #expect(c.statistics.maxDepth == capacity)
    }

    @Test(arguments: [1, 4])
    func dropNewestKeepsTheOldest(capacity: Int) async {
        let c = BoundedChannel<Int>(capacity: capacity, policy: .dropNewest)
        for i in 0..<10 { await c.send(i) }
        c.finish()
        var got: [Int] = []
        while let v = await c.receive() { got.append(v) }
        #expect(got == Array(0..<capacity))
        #expect(c.statistics.dropped == 10 - capacity)
    }

    @Test(arguments: [1, 2, 5])
    func blockNeverDropsAndSuspendsTheSender(capacity: Int) async {
        let c = BoundedChannel<Int>(capacity: capacity, policy: .block)
        let total = 50
        let producer = Task {
            for i in 0..<total { await c.send(i) }
            c.finish()
        }
        // While nobody receives, the producer fills the queue and then waits.
        while c.statistics.depth < capacity { await Task.yield() }
        for _ in 0..<100 { await Task.yield() }
        #expect(c.statistics.accepted == capacity)
        var got: [Int] = []
        while let v = await c.receive() { got.append(v) }
        await producer.value
        #expect(got == Array(0..<total))
        #expect(c.statistics.dropped == 0)
        #expect(c.statistics.maxDepth <= capacity)
    }

    @Test func finishWakesAWaitingReceiverAndDiscardsLaterSends() async {
        let c = BoundedChannel<Int>(capacity: 2)
        let receiver = Task { await c.receive() }
        for _ in 0..<50 { await Task.yield() }
        c.finish()
        #expect(await receiver.value == nil)
        #expect(await c.send(1) == false)
    }
}

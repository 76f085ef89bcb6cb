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

/// A context with the given input channels, for driving stage helpers directly.
private func context(inputs: [String: BoundedChannel<any Sendable>], clock: any PipelineClock = SystemPipelineClock())
    -> StageContext
{
    StageContext(
        name: "merge", shutdown: ShutdownSignal(), clock: clock, pacer: Pacer(speed: nil, clock: clock),
        metrics: StageMetrics(name: "merge"), pipelineMetrics: PipelineMetrics(stages: [:], edges: []),
        inputs: inputs, outputs: [:])
}

private struct Boom: Error {}

@Suite struct MergedInputsTests {
    @Test func everyItemOfEveryInputArrivesAndEachEndIsReported() async throws {
        let a = BoundedChannel<any Sendable>(capacity: 2), b = BoundedChannel<any Sendable>(capacity: 2)
        let ctx = context(inputs: ["a": a, "b": b])
        let producers = Task {
            await withTaskGroup(of: Void.self) { g in
                g.addTask {
                    for i in 0..<500 { await a.send(i) }
                    a.finish()
                }
                g.addTask {
                    for i in 0..<300 { await b.send("b\(i)") }
                    b.finish()
                }
            }
        }
        let (ints, strings, ends) = try await ctx.withMergedInputs(["a", "b", "unconnected"]) { inputs in
            var ints: [Int] = [], strings: [String] = [], ends: [String] = []
            while let e = await inputs.next() {
                switch e {
                case .item(let port, let v) where port == "a": ints.append(try ctx.value(v, port: port, as: Int.self))
                case .item(let port, let v): strings.append(try ctx.value(v, port: port, as: String.self))
                case .ended(let port): ends.append(port)
                case .tick: break
                }
            }
            return (ints, strings, ends)
        }
        await producers.value
        #expect(ints == Array(0..<500))
        #expect(strings == (0..<300).map { "b\($0)" })
        #expect(Set(ends) == ["a", "b", "unconnected"])
    }

    @Test func anErrorInTheBodyCancelsTheReadersAndPropagates() async {
        // The inputs never end: without cancellation the readers would keep the call waiting.
        let a = BoundedChannel<any Sendable>(capacity: 1), b = BoundedChannel<any Sendable>(capacity: 1)
        let ctx = context(inputs: ["a": a, "b": b])
        await a.send(1)
        await #expect(throws: Boom.self) {
            try await ctx.withMergedInputs(["a", "b"]) { inputs in
                _ = await inputs.next()
                throw Boom()
            }
        }
    }

    @Test func aHeldInputIsNotReadUntilReleased() async throws {
        let a = BoundedChannel<any Sendable>(capacity: 4), b = BoundedChannel<any Sendable>(capacity: 4)
        let ctx = context(inputs: ["a": a, "b": b])
        try await ctx.withMergedInputs(["a", "b"]) { inputs in
            inputs.hold("a", true)
            // Let the reader of `a` reach its gate (it may have read one item before the hold).
            try await Task.sleep(for: .milliseconds(50))
            for i in 0..<4 { await a.send(i) }
            await b.send("x")
            var seen: [String] = []
            guard case .item(let port, _)? = await inputs.next() else { return }
            seen.append(port)
            // `a` holds its items in its own channel while held.
            try await Task.sleep(for: .milliseconds(50))
            #expect(a.statistics.depth >= 3)
            inputs.hold("a", false)
            a.finish()
            b.finish()
            while let e = await inputs.next() { if case .item(let p, _) = e { seen.append(p) } }
            #expect(seen.filter { $0 == "a" }.count == 4)
            #expect(seen.first == "b" && seen.filter { $0 == "b" }.count == 1)
        }
    }

    @Test func ticksFollowThePipelineClock() async throws {
        let clock = ManualPipelineClock()
        let a = BoundedChannel<any Sendable>(capacity: 1)
        let ctx = context(inputs: ["a": a], clock: clock)
        let ticks = try await ctx.withMergedInputs(["a"], tick: .milliseconds(10)) { inputs in
            var ticks = 0
            for _ in 0..<3 {
                while clock.pendingDeadlines.isEmpty { await Task.yield() }
                clock.advance(by: .milliseconds(10))
                if case .tick? = await inputs.next() { ticks += 1 }
            }
            return ticks
        }
        #expect(ticks == 3)
    }
}

/// Resident memory stays flat while a drop-oldest edge drops at a high rate: dropped items
/// are released at once (measured from /proc/self/statm).
@Suite struct ChannelMemoryTests {
    private func residentMiB() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/statm"), "needs /proc"))
    func aDroppingEdgeKeepsResidentMemoryFlat() async throws {
        let c = BoundedChannel<[UInt8]>(capacity: 4, policy: .dropOldest)
        for _ in 0..<8 { await c.send([UInt8](repeating: 1, count: 4 << 20)) }
        let before = try #require(residentMiB())
        // 2,000 items of 4 MiB (8 GiB in total) pass through a 4-item edge with no receiver.
        for i in 0..<2000 { await c.send([UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 4 << 20)) }
        let after = try #require(residentMiB())
        #expect(c.statistics.dropped == 2004)
        #expect(after - before < 256, "resident memory grew from \(before) to \(after) MiB")
    }
}

import Foundation
import Testing

@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// The calling thread.
private func threadID() -> UInt { UInt(pthread_self()) }

@Suite struct SourceThreadTests {
    @Test func jobsRunOnTheThreadInOrder() async {
        let thread = SourceThread(name: "test-src")
        defer { thread.stop() }
        let outside = threadID()
        let ids = await withTaskExecutorPreference(thread) { () async -> [UInt] in
            var ids: [UInt] = []
            for _ in 0..<50 {
                ids.append(threadID())
                await Task.yield()
            }
            return ids
        }
        #expect(Set(ids).count == 1, "the task hopped threads: \(Set(ids))")
        #expect(ids.first != outside)
    }

    @Test(arguments: [1, 5, 20])
    func sleepWakesAfterItsDelay(ms: Int) async {
        let thread = SourceThread(name: "test-sleep")
        defer { thread.stop() }
        let t0 = ContinuousClock.now
        await withTaskExecutorPreference(thread) { await thread.sleep(for: .milliseconds(ms)) }
        let waited = ContinuousClock.now - t0
        #expect(waited >= .milliseconds(ms), "woke after \(waited)")
    }

    @Test func timersFireInDeadlineOrderWhateverTheOrderTheyWereSet() async {
        let thread = SourceThread(name: "test-order")
        defer { thread.stop() }
        let order = await withTaskGroup(of: Int.self) { group in
            for ms in [30, 10, 20] {
                group.addTask {
                    await withTaskExecutorPreference(thread) { await thread.sleep(for: .milliseconds(ms)) }
                    return ms
                }
            }
            var order: [Int] = []
            for await ms in group { order.append(ms) }
            return order
        }
        #expect(order == [10, 20, 30])
    }

    @Test func cancellingASleepReturnsAtOnce() async {
        let thread = SourceThread(name: "test-cancel")
        defer { thread.stop() }
        let t0 = ContinuousClock.now
        let task = Task {
            await withTaskExecutorPreference(thread) { await thread.sleep(for: .seconds(60)) }
            return Task.isCancelled
        }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        #expect(await task.value)
        #expect(ContinuousClock.now - t0 < .seconds(30))
    }

    @Test func aSleepOfNothingOrLessReturns() async {
        let thread = SourceThread(name: "test-zero")
        defer { thread.stop() }
        await thread.sleep(for: .zero)
        await thread.sleep(for: .seconds(-5))
        await thread.sleep(for: .nanoseconds(Int64.min))
    }

    @Test func aStoppedThreadStillRunsWhatIsGivenToIt() async throws {
        let thread = SourceThread(name: "test-stopped")
        thread.stop()
        try await Task.sleep(for: .milliseconds(20))  // the loop has ended
        let v = await withTaskExecutorPreference(thread) { () async -> Int in
            await Task.yield()
            return 42
        }
        #expect(v == 42)
    }

    @Test func thePipelineClockSleepsOnTheCurrentSourceThread() async throws {
        let thread = SourceThread(name: "test-clock")
        defer { thread.stop() }
        let clock = SystemPipelineClock()
        let (before, after) = try await SourceThread.$current.withValue(thread) {
            try await withTaskExecutorPreference(thread) { () async throws -> (UInt, UInt) in
                let before = threadID()
                try await clock.sleep(until: clock.now() + .milliseconds(5))
                return (before, threadID())
            }
        }
        #expect(before == after)
        #expect(clock.now() >= .milliseconds(5))
    }
}

@Suite struct MediaTimeTests {
    @Test func clampedSaturatesAndMapsNaNToZero() {
        #expect(MediaTime.clamped(.nan) == 0)
        #expect(MediaTime.clamped(.infinity) == MediaTime.range.upperBound)
        #expect(MediaTime.clamped(-.infinity) == MediaTime.range.lowerBound)
        #expect(MediaTime.clamped(1e300) == MediaTime.range.upperBound)
        #expect(MediaTime.clamped(-1e300) == MediaTime.range.lowerBound)
        #expect(MediaTime.clamped(-1.9) == -1)
        #expect(MediaTime.clamped(12_345.7) == 12_345)
    }

    @Test func offsetRefusesWhatFallsOutside() {
        #expect(MediaTime.offset(0, seconds: 1.5) == 1_500_000_000)
        #expect(MediaTime.offset(-10, nanoseconds: 3.9) == -7)
        #expect(MediaTime.offset(MediaTime.range.upperBound, seconds: 1e-9) == nil)
        #expect(MediaTime.offset(MediaTime.range.upperBound, seconds: 0) == MediaTime.range.upperBound)
        #expect(MediaTime.offset(MediaTime.range.lowerBound, seconds: -1) == nil)
        #expect(MediaTime.offset(Int64.max, seconds: -1e10) == nil)  // the origin itself is outside
        #expect(MediaTime.offset(0, seconds: .nan) == nil)
        #expect(MediaTime.offset(0, seconds: .infinity) == nil)
        #expect(MediaTime.offset(0, seconds: 1e300) == nil)
    }

    /// The pacer is given media times straight from files and messages.
    @Test(
        arguments: [
            (Int64.min, Int64.max), (Int64.max, Int64.min), (0, Int64.max), (Int64.max, Int64.max), (Int64.min, 0),
        ] as [(Int64, Int64)])
    func thePacerNeverTrapsOnExtremeMediaTimes(first: Int64, second: Int64) async throws {
        let clock = ManualPipelineClock()
        let pacer = Pacer(speed: 0.001, clock: clock)
        try await pacer.wait(untilMedia: first)
        let wait = Task { try await pacer.wait(untilMedia: second) }
        // A wait far in the future is pending on the clock (or none is when the time is past).
        var spins = 0
        while clock.pendingDeadlines.isEmpty && spins < 10_000 {
            await Task.yield()
            spins += 1
        }
        if let d = clock.pendingDeadlines.first {
            #expect(d > .zero)
            wait.cancel()
        }
        _ = try? await wait.value
    }
}

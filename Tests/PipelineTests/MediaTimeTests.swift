import Foundation
import Testing

@testable import Pipeline

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

    /// The pacer is given media times straight from files and messages: a later one waits
    /// (stretched by the slow speed, clamped), an earlier or equal one does not.
    @Test(
        arguments: [
            (Int64.min, Int64.max, true), (Int64.max, Int64.min, false), (0, Int64.max, true),
            (Int64.max, Int64.max, false), (Int64.min, 0, true),
        ] as [(Int64, Int64, Bool)])
    func thePacerNeverTrapsOnExtremeMediaTimes(first: Int64, second: Int64, waits: Bool) async throws {
        let clock = ManualPipelineClock()
        let pacer = Pacer(speed: 0.001, clock: clock)
        try await pacer.wait(untilMedia: first)
        let wait = Task { try await pacer.wait(untilMedia: second) }
        if waits {
            while clock.pendingDeadlines.isEmpty { await Task.yield() }
            #expect(clock.pendingDeadlines == [.nanoseconds(MediaTime.range.upperBound)])
            wait.cancel()
            await #expect(throws: CancellationError.self) { try await wait.value }
        } else {
            try await wait.value
            #expect(clock.pendingDeadlines.isEmpty)
        }
    }
}

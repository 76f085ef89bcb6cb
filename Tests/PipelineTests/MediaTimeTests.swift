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

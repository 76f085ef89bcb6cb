import Testing

@testable import Pipeline

@Suite struct RunnerTests {
    func graph(_ text: String, _ collector: Collector) throws -> PipelineGraph {
        try PipelineDescription(registry: testRegistry(collector: collector)).parse(text: text, file: "t.yaml")
    }

    @Test(arguments: [1, 4, 16])
    func everyItemArrivesInOrderUnderBackpressure(capacity: Int) async throws {
        let collector = Collector()
        let g = try graph(
            """
            stages:
              src: {kind: counter, count: 200}
              sink: {kind: collector, inputs: {in: {from: src.out, capacity: \(capacity)}}}
            """, collector)
        let runner = try PipelineRunner(graph: g)
        let report = try await runner.run()
        #expect(collector.received.map(\.index) == Array(0..<200))
        #expect(report.edges.first?.dropped == 0)
        #expect(report.edges.first?.maxDepth ?? 0 <= capacity)
        #expect(report.stages.first { $0.name == "sink" }?.itemsIn == 200)
        #expect(report.latencyMs.count == 200)
    }

    @Test func aFailingStageStopsThePipelineNamingIt() async throws {
        let collector = Collector(failAt: 5)
        let g = try graph(
            """
            stages:
              src: {kind: counter, count: 100000}
              sink: {kind: collector, inputs: {in: {from: src.out, capacity: 2}}}
            """, collector)
        let runner = try PipelineRunner(graph: g)
        let error = await #expect(throws: PipelineError.self) { try await runner.run() }
        #expect(error?.description == "stage 'sink' failed: disk on fire")
        #expect(collector.received.count == 5)
        #expect(runner.shutdown.isRequested)
    }

    @Test func shutdownDrainsWhatWasAccepted() async throws {
        let collector = Collector()
        let clock = ManualPipelineClock()
        let g = try graph(
            """
            clock: {speed: 1}
            stages:
              src: {kind: counter, count: 1000, spacing_ms: 10}
              sink: {kind: collector, inputs: {in: src.out}}
            """, collector)
        let runner = try PipelineRunner(graph: g, clock: clock)
        let run = Task { try await runner.run() }
        // Let 5 items through (t = 0, 10, ..., 40 ms), then ask for a drain.
        while clock.pendingDeadlines.isEmpty { await Task.yield() }
        for _ in 0..<4 {
            clock.advance(by: .milliseconds(10))
            while clock.pendingDeadlines.isEmpty { await Task.yield() }
        }
        runner.shutdown.request("test")
        clock.advance(by: .milliseconds(10))
        let report = try await run.value
        let got = collector.received.map(\.index)
        #expect(got == Array(0..<got.count))
        #expect(got.count >= 5 && got.count <= 6)
        #expect(report.stages.first { $0.name == "src" }?.itemsOut == got.count)
    }

    @Test(arguments: [1.0, 4.0, 0.25])
    func pacingFollowsTheSpeed(speed: Double) async throws {
        let collector = Collector()
        let clock = ManualPipelineClock()
        let g = try graph(
            """
            clock: {speed: \(speed)}
            stages:
              src: {kind: counter, count: 3, spacing_ms: 100}
              sink: {kind: collector, inputs: {in: src.out}}
            """, collector)
        let runner = try PipelineRunner(graph: g, clock: clock)
        let run = Task { try await runner.run() }
        var deadlines: [Duration] = []
        while deadlines.count < 2 {
            while clock.pendingDeadlines.isEmpty { await Task.yield() }
            let d = clock.pendingDeadlines[0]
            deadlines.append(d)
            clock.advance(by: d - clock.now())
        }
        _ = try await run.value
        #expect(deadlines == [.nanoseconds(Int64(100_000_000 / speed)), .nanoseconds(Int64(200_000_000 / speed))])
        #expect(collector.received.map(\.ingestedAt) == [.zero] + deadlines)
    }
}

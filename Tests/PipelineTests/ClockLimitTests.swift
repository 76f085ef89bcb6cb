import Testing

@testable import Pipeline

/// Clock values that used to pass validation and trap in the sources are refused by name.
@Suite struct ClockLimitTests {
    let registry = testRegistry(collector: Collector())

    @Test(arguments: [
        "{start: 1e300}", "{start: .nan}", "{start: -1}", "{duration: .nan}", "{duration: .inf}", "{duration: 0}",
        "{speed: 1e-300}", "{speed: .nan}", "{speed: 1e9}",
    ])
    func absurdClockValuesAreRefused(clock: String) {
        let text = """
            clock: \(clock)
            stages:
              src: {kind: counter, count: 5}
              sink: {kind: collector, inputs: {in: src.out}}
            """
        do {
            _ = try PipelineDescription(registry: registry).parse(text: text, file: "t.yaml")
            Issue.record("accepted clock \(clock)")
        } catch {
            #expect(error.description.contains("t.yaml:1:"), "\(error)")
            #expect(error.description.contains("clock"), "\(error)")
        }
    }

    @Test func usableValuesPass() throws {
        let text = """
            clock: {speed: 0.25, start: 1.5, duration: 2}
            stages:
              src: {kind: counter, count: 5}
              sink: {kind: collector, inputs: {in: src.out}}
            """
        let g = try PipelineDescription(registry: registry).parse(text: text, file: "t.yaml")
        #expect(g.clock == ClockSettings(speed: 0.25, start: 1.5, duration: 2))
        #expect(ClockSettings.speedProblem(.nan) != nil && ClockSettings.startProblem(.infinity) != nil)
    }
}

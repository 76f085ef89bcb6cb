import ArgumentParser
import Deblur
import Foundation
import Pipeline
import Stages

/// `spkdeblur run FILE.yaml`: validates, builds and runs a pipeline.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline description file.",
        discussion:
            "Ctrl-C (or SIGTERM) drains: sources stop, every accepted frame reaches the sinks, files close valid. A second Ctrl-C aborts."
    )

    @Argument(help: "The pipeline description (YAML).") var file: String
    @Option(name: .customLong("set"), help: "Override a stage parameter: stage.key=value (repeatable).") var overrides:
        [String] = []
    @Option(help: "Replay speed: a factor (1 = real time) or max (overrides the file's clock).") var speed: String?
    @Option(help: "Start replay this many seconds into the recording.") var start: Double?
    @Option(help: "Replay this many seconds.") var duration: Double?
    @Option(help: "Write the metrics report as JSON.") var metricsJson: String?
    @Flag(help: "No progress line.") var quiet = false

    func run() async throws {
        var graph = try loadGraph(file, overrides)
        if let speed {
            if speed == "max" {
                graph.clock.speed = nil
            } else if let s = Double(speed), ClockSettings.speedProblem(s) == nil {
                graph.clock.speed = s
            } else {
                throw ValidationError("--speed must be a number in 0.001...1000 or max, got \(speed)")
            }
        }
        if let start {
            if let problem = ClockSettings.startProblem(start) { throw ValidationError("--\(problem)") }
            graph.clock.start = start
        }
        if let duration {
            if let problem = ClockSettings.durationProblem(duration) { throw ValidationError("--\(problem)") }
            graph.clock.duration = duration
        }
        let runner = try PipelineRunner(graph: graph)
        let trap = SignalTrap(shutdown: runner.shutdown) { name in
            FileHandle.standardError.write(Data("\n\(name): draining (press Ctrl-C again to abort)\n".utf8))
        }
        let progress = ProgressReporter()
        // Frames written: what the file sinks received (viewers and publishers are not writes),
        // or every sink's when the pipeline writes no file.
        let allSinks = graph.stages.filter { $0.kind.outputs.isEmpty }
        let fileSinks = allSinks.filter { $0.kind.name == "hdf5-sink" }
        let sinks = (fileSinks.isEmpty ? allSinks : fileSinks).map(\.name)
        if !quiet {
            progress.start(label: graph.name, total: expectedFrames(graph)) {
                sinks.compactMap { runner.metrics.stage($0)?.snapshot.itemsIn }.reduce(0, +)
            }
        }
        let report: PipelineMetrics.Report
        do {
            report = try await runner.run()
        } catch {
            progress.stop()
            withExtendedLifetime(trap) {}
            throw error
        }
        progress.stop()
        withExtendedLifetime(trap) {}
        print(report.table())
        if let reason = runner.shutdown.reason { print("stopped early: \(reason); every accepted frame was written") }
        if let metricsJson {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do {
                try encoder.encode(report).write(to: URL(fileURLWithPath: metricsJson), options: .atomic)
            } catch {
                throw RunError("\(metricsJson): cannot write the metrics: \(error.localizedDescription)")
            }
        }
    }
}

/// `spkdeblur validate FILE.yaml`: reports every problem of a description file.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check a pipeline description file.")
    @Argument(help: "The pipeline description (YAML).") var file: String
    @Option(name: .customLong("set"), help: "Override a stage parameter: stage.key=value.") var overrides: [String] = []

    func run() throws {
        let graph = try loadGraph(file, overrides)
        print(
            "\(file): OK: \(graph.stages.count) stages, \(graph.edges.count) edges, speed \(graph.clock.speed.map { "\($0)" } ?? "max")"
        )
    }
}

/// `spkdeblur stages`: the stage kinds and their parameters.
struct StagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages", abstract: "List the stage kinds and their parameters.")
    func run() { print(StandardStages.registry().listing()) }
}

/// Loads and validates a description. Relative paths written in the file resolve against the
/// file's folder; relative paths given with `--set` resolve against the working directory,
/// as every other path on the command line does. `embedded:NAME` weights are left as they are.
func loadGraph(_ file: String, _ overrides: [String]) throws -> PipelineGraph {
    let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
    let workingDirectory = FileManager.default.currentDirectoryPath
    let fromCommandLine = Set(
        overrides.compactMap { o -> String? in
            guard let eq = o.firstIndex(of: "=") else { return nil }
            return String(o[..<eq])
        })
    var graph = try PipelineDescription(registry: StandardStages.registry()).load(path: file, overrides: overrides)
    for i in graph.stages.indices {
        for spec in graph.stages[i].kind.parameters where spec.type == .path {
            if case .string(let p)? = graph.stages[i].parameters.values[spec.name], !p.hasPrefix("/"),
                !p.hasPrefix(ModelChoice.embeddedPrefix)
            {
                let base =
                    fromCommandLine.contains("\(graph.stages[i].name).\(spec.name)") ? workingDirectory : directory
                graph.stages[i].parameters.values[spec.name] = .string((base as NSString).appendingPathComponent(p))
            }
        }
    }
    return graph
}

/// Frames a replay will write when its RGB comes from image folders (for the progress ETA).
func expectedFrames(_ graph: PipelineGraph) -> Int? {
    let folders = graph.stages.filter { $0.kind.name == "rgb-folder" }.compactMap { $0.parameters.string("path") }
    guard folders.count == 1, graph.clock.start == 0, graph.clock.duration == nil,
        let names = try? FileManager.default.contentsOfDirectory(atPath: folders[0])
    else { return nil }
    return names.filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.count
}

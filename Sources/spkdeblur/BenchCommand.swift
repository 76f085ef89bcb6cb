import ArgumentParser

/// `spkdeblur bench`: benchmarks that print numbers.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (they print numbers; nothing is asserted).",
        subcommands: [
            BenchModelCommand.self, BenchSpikesCommand.self, BenchZmqCommand.self, BenchSinkCommand.self,
            BenchPipelineCommand.self, BenchFarmCommand.self,
        ])
}

import ArgumentParser

/// `spkdeblur bench ...`: benchmarks that print numbers (timing goals live here, never in tests).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run benchmarks and print their numbers.",
        subcommands: [BenchSpikesCommand.self]
    )
}

import ArgumentParser
import Benchmarks
import Foundation

/// `spkdeblur bench farm`: the work farm's coordinator alone, with stand-in workers.
struct BenchFarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "farm",
        abstract:
            "Frames/s and CPU per frame through remote-deblur's coordinator, from an in-memory source to a counting sink, with passthrough worker processes."
    )

    @Option(help: "RGB size WIDTHxHEIGHT (spikes are half).") var size = "800x500"
    @Option(help: "Frames per run.") var frames = 512
    @Option(help: "Worker counts, comma separated.") var workers = "1,2,4,8,16,32"
    @Option(help: "Stand-in service times in ms, comma separated (0 answers at once).") var serviceMs = "0,100"
    @Option(help: "Most jobs in flight per worker.") var credit = 2
    @Option(help: "Runs per cell (the table shows medians).") var runs = 3

    struct Plan {
        var width: Int, height: Int, workers: [Int], serviceMs: [Double]
    }

    /// The options checked, as numbers.
    func plan() throws -> Plan {
        let sides = size.lowercased().split(separator: "x").map { Int($0) }
        guard sides.count == 2, let w = sides[0], let h = sides[1], (16...8192).contains(w), (16...8192).contains(h),
            w % 2 == 0, h % 2 == 0, (w / 2 * h / 2) % 8 == 0
        else {
            throw ValidationError(
                "--size \(size) must be WIDTHxHEIGHT, even sides in 16...8192, (W/2 x H/2) a multiple of 8")
        }
        let counts = workers.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0.map { (1...64).contains($0) } ?? false }) else {
            throw ValidationError("--workers \(workers) must be counts in 1...64, comma separated")
        }
        let services = serviceMs.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !services.isEmpty, services.allSatisfy({ $0.map { $0 >= 0 && $0 <= 10_000 } ?? false }) else {
            throw ValidationError("--service-ms \(serviceMs) must be times in 0...10000 ms, comma separated")
        }
        return Plan(width: w, height: h, workers: counts.compactMap { $0 }, serviceMs: services.compactMap { $0 })
    }

    func validate() throws {
        _ = try plan()
        guard (2...100_000).contains(frames) else { throw ValidationError("--frames \(frames) must be in 2...100000") }
        guard (1...64).contains(credit) else { throw ValidationError("--credit \(credit) must be in 1...64") }
        guard (1...50).contains(runs) else { throw ValidationError("--runs \(runs) must be in 1...50") }
    }

    func run() async throws {
        let p = try plan()
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        try await FarmBenchmark(
            width: p.width, height: p.height, frames: frames, workers: p.workers, serviceMs: p.serviceMs,
            credit: credit, repeats: runs, binary: binary, emit: { print($0) }
        ).run()
    }
}

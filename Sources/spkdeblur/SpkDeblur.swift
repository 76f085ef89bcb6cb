import ArgumentParser
import Stages

/// The `spkdeblur` command line: parses, validates, builds and runs; the work lives in the
/// library modules.
struct SpkDeblur: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spkdeblur",
        abstract: "Spike-guided motion deblurring: spike streams, SpkDeblurNet, pipelines.",
        version: SoftwareVersion.string,
        subcommands: [
            // Each subcommand lives in its own file, <Name>Command.swift.
            RunCommand.self,
            ViewCommand.self,
            ValidateCommand.self,
            StagesCommand.self,
            ConvertWeightsCommand.self,
            VerifyCommand.self,
            ModelsCommand.self,
            BenchCommand.self,
            SpikesCommand.self,
            SimulateCommand.self,
            ReconstructCommand.self,
            CameraCommand.self,
            InspectCommand.self,
            ExportCommand.self,
            DeblurCommand.self,
            EvalCommand.self,
        ]
    )
}

@main
enum Entry {
    static func main() async {
        OpenBLASKernelChoice.applyByReexec()
        await SpkDeblur.main()
    }
}

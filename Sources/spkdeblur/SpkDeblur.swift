import ArgumentParser
import Foundation
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
            WorkerCommand.self,
            KeysCommand.self,
        ]
    )
}

@main
enum Entry {
    static func main() async {
        OpenBLASKernelChoice.applyByReexec()
        var parsed: any ParsableCommand
        do {
            parsed = try SpkDeblur.parseAsRoot()
        } catch {
            SpkDeblur.exit(withError: error)  // usage errors, --help, --version
        }
        do {
            if var command = parsed as? AsyncParsableCommand {
                try await command.run()
            } else {
                try parsed.run()
            }
        } catch {
            // ArgumentParser's own outcomes (help, usage errors, exit codes) as it prints them.
            guard !(error is ExitCode), SpkDeblur.exitCode(for: error) == ExitCode.failure else {
                SpkDeblur.exit(withError: error)
            }
            // One write for the whole message: ArgumentParser's standard error stream writes
            // it a character at a time (9.8 million writes, 9 s, for validate's 120,000
            // diagnostics of a broken 60,000-stage file).
            let message = SpkDeblur.message(for: oneLine(error))
            FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
            SpkDeblur.exit(withError: ExitCode.failure)
        }
    }

    /// Foundation's file errors as one line naming the path and the cause (instead of an
    /// `NSError` dump); every other error unchanged.
    static func oneLine(_ error: any Error) -> any Error {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return error }
        let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        var cause = ns.localizedDescription
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError {
            cause = String(cString: strerror(Int32(underlying.code)))
        }
        return RunError(path.map { "\($0): \(cause)" } ?? cause)
    }
}

import ArgumentParser
import Stages

/// `spkdeblur keys NAME`: a CurveZMQ key pair for a farm's stage or worker.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Write a CurveZMQ key pair: NAME.pub (public, to share) and NAME.key (secret, owner only).",
        discussion: """
            The remote-deblur stage takes its own NAME.key as curve_secret_key and a folder of the \
            workers' .pub files as curve_clients; a worker takes the stage's .pub as --curve-server-key and \
            its own .key as --curve-key.
            """)

    @Argument(help: "Path and base name of the two files.") var name: String

    func run() throws {
        do {
            let written = try CurveKeys.writePair(base: name)
            print("wrote \(written.publicPath) and \(written.secretPath)")
        } catch { throw RunError("\(error)") }
    }
}

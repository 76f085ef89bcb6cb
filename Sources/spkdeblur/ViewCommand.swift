import ArgumentParser
import Foundation
import Pipeline
import Viewer

/// `spkdeblur view FILE.h5`: the browser viewer over a recorded file.
struct ViewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract:
            "Serve a browser page over a recording (.h5): frame slider, datasets side by side, arrays, attributes.")

    @Argument(help: "The recording (.h5).")
    var file: String

    @Option(help: "TCP port (0: any free port; the URL is printed).")
    var port: Int = 8091

    @Option(help: "Address to bind. Anything but loopback exposes the recording to the network.")
    var host: String = "127.0.0.1"

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535, not \(port)") }
    }

    func run() async throws {
        let viewer = try RecordingViewer(path: file)
        let server = try await viewer.start(host: host, port: port)
        // Standard error is unbuffered, so a script (or a test) sees the URL at once.
        FileHandle.standardError.write(Data("view: serving \(file) at \(server.url) (Ctrl-C stops)\n".utf8))
        // Own handlers (a process that ignores SIGTERM passes that on to its children).
        let trap = SignalTrap(shutdown: ShutdownSignal()) { _ in Task { await server.shutdown() } }
        await server.waitUntilClosed()
        withExtendedLifetime(trap) {}
    }
}

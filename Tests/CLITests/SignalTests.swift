import Foundation
import Testing

/// Starts `spkdeblur ARGUMENTS` with SIGTERM and SIGINT ignored, as a child of a process that
/// ignores them is (children inherit ignored signals: a test runner's workers outlived it that
/// way), sends SIGTERM once it runs, and expects it to stop.
func expectStopsOnSIGTERMThoughInheritedIgnored(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    // `trap '' TERM INT` ignores both; `exec` keeps them ignored in the command.
    process.arguments = ["-c", "trap '' TERM INT; exec \"$0\" \"$@\"", try spkdeblurBinary().path] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    Thread.sleep(forTimeInterval: 1.5)
    #expect(process.isRunning, "\(arguments[0]) should still be running before the signal")
    kill(process.processIdentifier, SIGTERM)
    let deadline = Date().addingTimeInterval(20)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    let stopped = !process.isRunning
    if !stopped { kill(process.processIdentifier, SIGKILL) }
    #expect(stopped, "\(arguments[0]) ignored SIGTERM")
}

@Suite struct SignalTests {
    @Test func aWorkerStopsOnSIGTERM() throws {
        try expectStopsOnSIGTERMThoughInheritedIgnored([
            "worker", "--connect", "tcp://127.0.0.1:9", "--model", "classical", "--threads", "1",
        ])
    }
}

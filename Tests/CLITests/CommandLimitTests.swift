import Foundation
import Testing

/// Extreme option values that trapped (time stamps and sizes computed from them): each is
/// refused with one line naming the option.
@Suite struct CommandLimitTests {
    let dat = testsFixture("SpikeCoreTests/Fixtures/spikes_a.dat")
    let rgb = testsFixture("../pipelines/assets/scenes")

    @Test(arguments: [
        (["--rate", "1e-300"], "--rate"), (["--rate", "nan"], "--rate"), (["--rate", "inf"], "--rate"),
        (["--fps", "1e-300"], "--fps"), (["--speed", "1e-300"], "--speed"), (["--speed", "nan"], "--speed"),
        (["--exposure-spike-frames", "9223372036854775807"], "--exposure-spike-frames"),
        (["--batch", "0"], "--batch"), (["--wait-ms", "-1"], "--wait-ms"),
    ])
    func extremeValuesAreRefusedInOneLine(extra: [String], option: String) throws {
        let result = try run(
            [
                "camera", "--spikes", dat.path, "--height", "36", "--width", "52", "--rgb", rgb.path, "--speed", "max",
                "--wait-ms", "0", "--bind", "tcp://127.0.0.1:0",
            ] + extra)
        #expect(result.status == 1 || result.status == 64, "\(result.err)")
        let message = result.err.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(message.contains(option), "\(message)")
        #expect(!message.contains("Backtrace") && !message.contains("Fatal error"), "\(message)")
    }

    @Test(arguments: [
        ["bench", "pipeline", "--seconds", "nan"], ["bench", "pipeline", "--rate", "1e300"],
        ["bench", "pipeline", "--fps", "inf"], ["bench", "sink", "--width", "9223372036854775807"],
        ["bench", "sink", "--width", "4294967296"], ["bench", "zmq", "--rate", "inf"],
        ["bench", "zmq", "--frames", "9223372036854775807"], ["bench", "spikes", "--frames", "9223372036854775807"],
        ["bench", "model", "--height", "4294967296"], ["bench", "farm", "--size", "9223372036854775807x8"],
        ["bench", "farm", "--workers", "1,65"], ["bench", "farm", "--service-ms", "nan"],
        ["bench", "farm", "--frames", "9223372036854775807"],
        ["verify", "--tolerance", "nan", "--weights", "w", "--io", "io"],
        ["verify", "--tolerance", "inf", "--weights", "w", "--io", "io"],
        ["export", "--sheet-frames", "9223372036854775807", "x.h5", "--out", "d"],
        ["export", "--sheet-scale", "4294967296", "x.h5", "--out", "d"],
        ["reconstruct", "--window", "9223372036854775807", "x.dat", "--height", "8", "--width", "8", "--out", "o.h5"],
        ["reconstruct", "--window", "4294967296", "x.dat", "--height", "8", "--width", "8", "--out", "o.h5"],
    ])
    func benchmarksRefuseExtremeValues(arguments: [String]) throws {
        let result = try run(arguments)
        #expect(result.status == 64, "\(result.err)")
        let option = arguments[0] == "bench" ? arguments[2] : arguments[1]
        #expect(result.err.contains(option), "\(result.err)")
        #expect(!result.err.contains("Fatal error"), "\(result.err)")
    }
}

import Foundation
import Pipeline
import TestSupport
import Testing

@testable import Stages

/// Bounded fuzz run of the pipeline description parser and validator with the real stage
/// registry: mutated valid files never trap or hang, and every refusal names the file.
@Suite struct DescriptionFuzzTests {
    static let n = Mutator.iterations(default: 1500)

    static let seed = """
        pipeline: fuzz
        clock: {speed: 1.0, start: 0.5, duration: 2.0, live: false}
        stages:
          spikes: {kind: spike-file, path: a.dat, height: 250, width: 400, rate_hz: 20000, batch: 100}
          rgb: {kind: rgb-folder, path: frames, exposure_spike_frames: 56}
          windows: {kind: exposure-window, frames: 56, start_ns: 0, inputs: {spikes: spikes, exposures: rgb}}
          sync:
            kind: rgb-sync
            crop: [0, 0, 800, 500]
            homography: [1, 0, 0, 0, 1, 0, 0, 0, 1]
            inputs: {windows: windows, rgb: {from: rgb.frames, capacity: 4, policy: drop-oldest}}
          deblur: {kind: deblur, model: classical, inputs: {fused: sync}}
          sink: {kind: hdf5-sink, path: out.h5, inputs: {frames: deblur}}
        """

    @Test func mutatedDescriptionsNeverTrap() throws {
        let registry = StandardStages.registry()
        var m = Mutator(seed: 6)
        var tally = FuzzTally("pipeline YAML")
        let tokens = [
            "{", "}", "[", "]", ":", ",", "\n", "  ", "&a ", "*a", "!!binary ", "~", ".nan", "-.inf", "1e300",
            "9223372036854775807", "-9223372036854775808", "\"\"", "'.'", "..", "{from: \"\"}", "<<: *a", "\u{0}",
        ]
        let seedBytes = Array(Self.seed.utf8)
        for _ in 0..<Self.n {
            var bytes = m.mutate(seedBytes, focus: seedBytes.count)
            if m.below(2) == 0 {
                let t = Array(tokens[m.below(tokens.count)].utf8)
                bytes.insert(contentsOf: t, at: m.below(bytes.count + 1))
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do throws(PipelineError) {
                _ = try PipelineDescription(registry: registry).parse(text: text, file: "fuzz.yaml")
                tally.record(nil)
            } catch {
                tally.record(nil)  // reports may list several problems, one per line
                tally.accepted -= 1
                tally.refused += 1
                #expect("\(error)".contains("fuzz.yaml"), "\(error)")
            }
        }
        print(tally)
        #expect(tally.refused > Self.n / 4)
    }
}

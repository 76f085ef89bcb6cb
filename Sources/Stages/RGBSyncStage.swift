import Foundation
import Imaging
import Pipeline

/// `rgb-sync`: pairs exposure windows with RGB frames by exposure midpoint within a
/// tolerance, optionally crops and warps the RGB frame (two-camera rig), and resizes it to
/// exactly twice the spike resolution. Unpaired items older than a match are dropped and
/// counted.
struct RGBSyncStage: Stage {
    let tolerance: Int64
    let crop: [Double]?
    let homography: [Double]?

    static let kind = StageKind(
        name: "rgb-sync", summary: "pairs spike windows with RGB frames by time; resizes RGB to 2x the spike size",
        parameters: [
            ParameterSpec(
                "tolerance_ms", .double(0...60_000), default: .double(1), "largest midpoint difference of a pair"),
            ParameterSpec(
                "crop", .doubleList(count: 4), optional: true,
                "[x, y, width, height] of the RGB frame to keep, before resizing"),
            ParameterSpec(
                "homography", .doubleList(count: 9), optional: true,
                "3x3 row-major map from output RGB pixel to input pixel (two-camera registration), applied after the crop"
            ),
        ],
        inputs: [PortSpec("windows", Ports.windows), PortSpec("rgb", Ports.rgb)],
        outputs: [PortSpec("fused", Ports.fused)],
        make: { p, env in
            if let h = p.doubles("homography") {
                // Finite and invertible: a degenerate map sends the whole frame to one line.
                let det =
                    h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6])
                    + h[2] * (h[3] * h[7] - h[4] * h[6])
                guard h.allSatisfy(\.isFinite), det.isFinite, abs(det) > 1e-12 else {
                    throw StageError("stage '\(env.stageName)': homography must be finite and invertible, got \(h)")
                }
            }
            if let c = p.doubles("crop"), !(c.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1e6 }) {
                throw StageError("stage '\(env.stageName)': crop values must be finite, in 0...1000000, got \(c)")
            }
            return RGBSyncStage(
                tolerance: Int64((p.double("tolerance_ms") ?? 1) * 1e6), crop: p.doubles("crop"),
                homography: p.doubles("homography"))
        })

    /// Items of either side that may wait for their partner; beyond it the oldest is dropped.
    static let maxWaiting = 512

    func run(_ context: StageContext) async throws {
        var windows: [ExposureWindow] = [], frames: [RGBFrame] = []
        try await context.withMergedInputs(["windows", "rgb"]) { inputs in
            while let event = await inputs.next() {
                switch event {
                case .item(let port, let value) where port == "windows":
                    windows.append(try context.value(value, port: port, as: ExposureWindow.self))
                case .item(let port, let value):
                    frames.append(try context.value(value, port: port, as: RGBFrame.self))
                case .ended, .tick:
                    break
                }
                try await pairReady(&windows, &frames, context)
                if windows.count > Self.maxWaiting {
                    windows.removeFirst()
                    context.metrics.count("unpaired-windows")
                }
                if frames.count > Self.maxWaiting {
                    frames.removeFirst()
                    context.metrics.count("unpaired-rgb")
                }
            }
        }
        context.metrics.count("unpaired-rgb", by: frames.count)
        context.metrics.count("unpaired-windows", by: windows.count)
    }

    /// Pairs every waiting window with the waiting frame nearest in time (within the
    /// tolerance). Both sides arrive in time order, so items older than a pair never pair and
    /// are dropped and counted; an item far off in time (an absurd exposure) waits alone and
    /// does not block the others.
    func pairReady(_ windows: inout [ExposureWindow], _ frames: inout [RGBFrame], _ context: StageContext)
        async throws
    {
        var i = 0
        while i < windows.count {
            let w = windows[i]
            var best: Int?
            for (j, f) in frames.enumerated() {
                let d = w.midpoint.subtractingReportingOverflow(f.midpoint)
                guard !d.overflow, d.partialValue.magnitude <= tolerance.magnitude else { continue }
                if let b = best,
                    (w.midpoint - frames[b].midpoint).magnitude <= d.partialValue.magnitude
                {
                    continue
                }
                best = j
            }
            guard let j = best else {
                i += 1
                continue
            }
            let f = frames.remove(at: j)
            windows.remove(at: i)
            let olderWindows = windows[..<i].count
            windows.removeSubrange(..<i)
            let before = frames.count
            frames.removeAll { $0.midpoint < f.midpoint && f.midpoint - $0.midpoint > tolerance }
            context.metrics.count("unpaired-windows", by: olderWindows)
            context.metrics.count("unpaired-rgb", by: before - frames.count)
            i = 0
            let fused = try await context.busy { try prepare(w, f) }
            await context.send("fused", fused)
        }
    }

    func prepare(_ w: ExposureWindow, _ f: RGBFrame) throws -> FusedExposure {
        var image = f.image
        if let crop {
            let (x, y, cw, ch) = (Int(crop[0]), Int(crop[1]), Int(crop[2]), Int(crop[3]))
            guard x >= 0, y >= 0, cw > 0, ch > 0, x + cw <= image.width, y + ch <= image.height else {
                throw StageError("rgb-sync: crop \(crop) lies outside the \(image.width)x\(image.height) frame \(f.id)")
            }
            image = image.cropped(x: x, y: y, width: cw, height: ch)
        }
        if let homography {
            image = image.warpedPerspective(homography: homography, width: image.width, height: image.height)
        }
        let g = w.spikes.geometry
        image = image.resizedBilinear(width: 2 * g.width, height: 2 * g.height)
        var rgb = f
        rgb.image = image
        return FusedExposure(window: w, rgb: rgb, ingestedAt: max(w.ingestedAt, f.ingestedAt))
    }
}

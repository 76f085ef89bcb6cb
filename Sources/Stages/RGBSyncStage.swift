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

    func run(_ context: StageContext) async throws {
        let events = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingOldest(4))
        let a = Task {
            while let w = try await context.receive("windows", as: ExposureWindow.self) {
                await events.continuation.yieldWaiting(.window(w))
            }
            await events.continuation.yieldWaiting(.end)
        }
        let b = Task {
            while let f = try await context.receive("rgb", as: RGBFrame.self) {
                await events.continuation.yieldWaiting(.frame(f))
            }
            await events.continuation.yieldWaiting(.end)
        }
        defer { a.cancel(); b.cancel() }
        var windows: [ExposureWindow] = [], frames: [RGBFrame] = []
        var ended = 0
        for await e in events.stream {
            switch e {
            case .window(let w): windows.append(w)
            case .frame(let f): frames.append(f)
            case .end: ended += 1
            }
            while let w = windows.first, let f = frames.first {
                let d = w.midpoint - f.midpoint
                if abs(d) <= tolerance {
                    windows.removeFirst(); frames.removeFirst()
                    let fused = try await context.busy { try prepare(w, f) }
                    await context.send("fused", fused)
                } else if d > 0 {
                    frames.removeFirst()  // the frame has no window (dropped upstream)
                    context.metrics.count("unpaired-rgb")
                } else {
                    windows.removeFirst()
                    context.metrics.count("unpaired-windows")
                }
            }
            if ended == 2 { break }
        }
        context.metrics.count("unpaired-rgb", by: frames.count)
        context.metrics.count("unpaired-windows", by: windows.count)
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

    enum Event: Sendable {
        case window(ExposureWindow)
        case frame(RGBFrame)
        case end
    }
}

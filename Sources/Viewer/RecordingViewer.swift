import Dispatch
import Foundation
import ImageCodecs
import Imaging
import Recording

/// `spkdeblur view FILE.h5`: the viewer's page over a recorded file: frames of every image
/// dataset as PNG, the per-frame arrays and the root attributes as JSON.
public final class RecordingViewer: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `reader` (HDF5 is not thread-safe) is only used on
    // `queue`; everything else is immutable after `init`.
    private let reader: SequenceReader
    private let queue = DispatchQueue(label: "view.reader")
    private let infoJSON: String
    private let frames: Int
    private let datasets: [ImageDataset]
    let path: String

    /// Opens the file and reads its summary and per-frame arrays.
    /// - Throws: ``Recording/RecordingError`` naming the file.
    public init(path: String) throws {
        self.path = path
        reader = try SequenceReader(url: URL(fileURLWithPath: path))
        let info = try reader.info()
        let present = Set(info.datasets.map(\.name))
        // Shown left to right like the live page: input, reconstruction, output.
        datasets = [ImageDataset.blur, .spikeRecon, .sharp, .quickSharp].filter { present.contains($0.rawValue) }
        frames = info.frames
        let arrays = try reader.perFrameArrays().map { name, values -> String in
            let items: [String] =
                switch values {
                case .int64(let v): v.map { "\($0)" }
                case .float(let v): v.map { JSON.number(Double($0)) }
                }
            return "\(JSON.string(name)):[\(items.joined(separator: ","))]"
        }
        let attributes = info.attributes.map { "\(JSON.string($0.name)):\(JSON.string($0.value))" }
        let shapes = info.datasets.map { d in
            "{\"name\":\(JSON.string(d.name)),\"shape\":[\(d.shape.map(String.init).joined(separator: ","))],"
                + "\"type\":\(JSON.string(d.elementType))}"
        }
        infoJSON = """
            {"file":\(JSON.string((path as NSString).lastPathComponent)),"frames":\(info.frames),\
            "height":\(info.height),"width":\(info.width),\
            "images":\(JSON.array(datasets.map(\.rawValue))),"datasets":[\(shapes.joined(separator: ","))],\
            "attributes":{\(attributes.joined(separator: ","))},"arrays":{\(arrays.joined(separator: ","))}}
            """
    }

    deinit { reader.close() }

    /// Serves the file until the server is closed.
    public func start(host: String, port: Int) async throws(ViewerError) -> HTTPServer {
        try await HTTPServer(host: host, port: port) { [self] request in route(request) }
    }

    func route(_ request: HTTPRequest) -> HTTPReply {
        let path = request.path
        switch (request.method, path) {
        case ("GET", "/"), ("GET", "/index.html"):
            return .response(Page.response(mode: "file", title: (self.path as NSString).lastPathComponent))
        case ("GET", "/api/info"):
            return .response(.json(infoJSON))
        case ("GET", _) where path.hasPrefix("/frame/") && path.hasSuffix(".png"):
            // /frame/DATASET/INDEX.png
            let parts = path.dropFirst("/frame/".count).dropLast(".png".count).split(separator: "/")
            guard parts.count == 2, let dataset = ImageDataset(rawValue: String(parts[0])),
                let index = Int(parts[1])
            else { return .response(.text(404, "expected /frame/DATASET/INDEX.png, not \(path)")) }
            guard datasets.contains(dataset) else {
                return .response(.text(404, "the file has no /\(dataset.rawValue)"))
            }
            guard index >= 0, index < frames else {
                return .response(.text(404, "frame \(index) is out of range 0..<\(frames)"))
            }
            let download = request.query["download"] != nil
            let name = "\(dataset.rawValue)-\(index).png"
            return .deferred { [self] done in
                queue.async { [self] in
                    do {
                        let png = try ImageFile.encodePNG(try reader.image(index, of: dataset))
                        var headers = [("X-Frame-Index", "\(index)")]
                        if download { headers.append(("Content-Disposition", "attachment; filename=\"\(name)\"")) }
                        done(HTTPResponse(contentType: "image/png", headers: headers, body: png))
                    } catch {
                        done(.text(500, "view: \(error)"))
                    }
                }
            }
        case (let m, _) where m != "GET":
            return .response(.text(405, "method \(m) not allowed"))
        default:
            return .response(.text(404, "no such page: \(path)"))
        }
    }
}

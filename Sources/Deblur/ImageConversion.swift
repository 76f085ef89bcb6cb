import Imaging
import Tensor

// The one conversion between the image type of the codecs and the tensor engine's feature
// maps: both are channels-last (HWC) floats, so the pixels are shared as they are.

extension Image {
    /// The same pixels as a channels-last feature map.
    public var featureMap: FeatureMap { FeatureMap(height: height, width: width, channels: channels, data: pixels) }

    /// The same pixels as a feature map whose storage has room for a header of up to
    /// `headroomBytes` in front (``TensorBuffer/init(uninitialized:headroomBytes:)``: a wire
    /// part sent without a copy).
    public func featureMap(headroomBytes: Int) -> FeatureMap {
        var data = TensorBuffer(uninitialized: pixels.count, headroomBytes: headroomBytes)
        data.withUnsafeMutableBufferPointer { d in
            pixels.withUnsafeBufferPointer { p in
                if let from = p.baseAddress { d.baseAddress?.update(from: from, count: p.count) }
            }
        }
        return FeatureMap(height: height, width: width, channels: channels, data: data)
    }
}

extension FeatureMap {
    /// The same values as an image.
    public var image: Image { Image(width: width, height: height, channels: channels, pixels: data.array) }
}

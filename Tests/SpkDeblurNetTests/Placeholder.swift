import Testing

@Test func placeholderSpkDeblurNet() { #expect(Bool(true)) }

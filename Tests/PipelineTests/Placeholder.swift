import Testing

@Test func placeholderPipeline() { #expect(Bool(true)) }

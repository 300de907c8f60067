import GRPCCore
import GRPCProtobuf
import PixEcomProtos

/// `pixecom.testing.v1.EchoService` for grpc-swift-2, written by hand instead of generated: only
/// `Echo` is registered.
struct GRPCEchoService: RegistrableRPCService {
    static let echo = MethodDescriptor(fullyQualifiedService: "pixecom.testing.v1.EchoService", method: "Echo")

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Self.echo,
            deserializer: ProtobufDeserializer<Pixecom_Testing_V1_EchoRequest>(),
            serializer: ProtobufSerializer<Pixecom_Testing_V1_EchoResponse>()
        ) { streamingRequest, _ in
            let request = try await ServerRequest(stream: streamingRequest)
            var response = Pixecom_Testing_V1_EchoResponse()
            response.payload = request.message.payload
            return StreamingServerResponse(single: ServerResponse(message: response))
        }
    }
}

import Foundation
import PixEcomProtos
import SwiftProtobuf

/// Writes every PixEcom service's contract from the .proto files: method names and contracts, the
/// access table, the typed handler protocol and its registration, and the typed client
/// (`Sources/ServiceKit/Generated`); the edge's route table (`Sources/Edge/Generated/EdgeRouteTable*.swift`);
/// and the route table of `docs/API.md` (between its markers, when the file is there).
///
///     ContractGen DESCRIPTOR_SET PACKAGE_ROOT [--check]
///
/// DESCRIPTOR_SET is `protoc --include_imports --include_source_info --descriptor_set_out` over
/// Protos/ (scripts/generate-protos.sh makes it). With --check nothing is written: the exit status
/// is 1 when a generated file differs from what would be written. A method without its
/// `(pixecom.options.v1.method)` options, or with inconsistent ones, fails with its name (2).
@main
struct ContractGenMain {
    /// The folders ContractGen owns files in, relative to the package root, and which of their
    /// files are its own (a stale one is removed).
    static let contracts = "Sources/ServiceKit/Generated"
    static let routes = "Sources/Edge/Generated"
    static let apiDocument = "docs/API.md"

    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let check = arguments.contains("--check")
        arguments.removeAll { $0 == "--check" }
        guard arguments.count == 2 else {
            self.fail("usage: ContractGen DESCRIPTOR_SET PACKAGE_ROOT [--check]", status: 64)
        }
        let (input, root) = (arguments[0], URL(fileURLWithPath: arguments[1]))
        let services: [ServiceModel]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: input))
            var extensions = SimpleExtensionMap()
            extensions.formUnion(Pixecom_Options_V1_Options_Extensions)
            let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: data, extensions: extensions)
            services = try ContractModel.services(in: set)
        } catch let error as ContractError {
            self.fail("the contracts in Protos/ are not complete:\n\(error)", status: 2)
        } catch {
            self.fail("cannot read \(input): \(error)", status: 1)
        }

        var files: [String: String] = ["\(Self.contracts)/ServiceContracts.swift": SwiftWriter.index(for: services)]
        files["\(Self.routes)/EdgeRouteTable.swift"] = EdgeRouteWriter.index(for: services)
        for service in services {
            files["\(Self.contracts)/Contracts+\(service.stem).swift"] = SwiftWriter.file(for: service)
            files["\(Self.routes)/EdgeRouteTable+\(service.stem).swift"] = EdgeRouteWriter.file(for: service)
        }
        let document = root.appendingPathComponent(Self.apiDocument)
        if let text = try? String(contentsOf: document, encoding: .utf8) {
            guard let updated = RouteDocWriter.replacingTable(in: text, services: services) else {
                self.fail("\(Self.apiDocument) has no \(RouteDocWriter.begin) ... \(RouteDocWriter.end) section", status: 1)
            }
            files[Self.apiDocument] = updated
        }

        // Files of ours that nothing generates any more: every .swift of the contracts folder,
        // the EdgeRouteTable files of the edge's (the rest there is generate-openapi-schemas.py's).
        var stale: [String] = []
        for (folder, isOurs) in [(Self.contracts, { (_: String) in true }), (Self.routes, { $0.hasPrefix("EdgeRouteTable") })] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
            stale += names.filter { $0.hasSuffix(".swift") && isOurs($0) }.map { "\(folder)/\($0)" }.filter { files[$0] == nil }
        }
        var changed = stale
        for (path, text) in files where (try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)) != text {
            changed.append(path)
        }
        if check {
            guard changed.isEmpty else {
                self.fail(
                    "stale generated contracts: \(changed.sorted().joined(separator: ", ")) (run scripts/generate-protos.sh)", status: 1)
            }
            print("generated contracts and routes are current (\(files.count) files)")
            return
        }
        do {
            for path in stale { try FileManager.default.removeItem(at: root.appendingPathComponent(path)) }
            for (path, text) in files {
                let url = root.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url, options: .atomic)
            }
        } catch {
            self.fail("cannot write into \(root.path): \(error)", status: 1)
        }
        print("wrote \(files.count) generated files under \(root.path)")
    }

    private static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("ContractGen: \(message)\n".utf8))
        exit(status)
    }
}

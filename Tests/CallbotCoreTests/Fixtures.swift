import Foundation

@testable import CallbotCore

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The shipped demo deployment ("Mairie de Villebois").
let demo: Deployment = {
    do {
        return try Deployment.load(from: repositoryRoot + "/config")
    } catch {
        fatalError("the demo configuration does not load: \(error)")
    }
}()

func text(_ relativePath: String) throws -> String {
    try String(contentsOfFile: repositoryRoot + "/" + relativePath, encoding: .utf8)
}

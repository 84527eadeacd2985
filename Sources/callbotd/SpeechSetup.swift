import Audio
import CallbotCore
import Foundation
import Logging
import ServiceLifecycle
import Speech

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The recogniser a deployment asks for, and what it is told about the service.
enum SpeechSetup {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The recogniser of `settings`; nil for `none`.
    static func recognizer(_ settings: SpeechSettings, environment: [String: String]) throws(Failure)
        -> (any SpeechRecognizer)?
    {
        let timeout = Duration.milliseconds(Int(settings.timeoutSeconds * 1000))
        switch settings.engine {
        case .none:
            return nil
        case .local:
            return OpenAITranscriber(
                baseURL: URL(string: "http://127.0.0.1:\(settings.port)/v1")!, model: settings.model, apiKey: nil,
                timeout: timeout)
        case .openai:
            guard let base = settings.baseURL.flatMap(URL.init(string:)) else {
                throw Failure(description: "speech.base_url is missing or not a URL")
            }
            return OpenAITranscriber(
                baseURL: base, model: settings.model, apiKey: try apiKey(settings, environment), timeout: timeout)
        }
    }

    /// The API key from `api_key_env` (wins) or `api_key_file`; nil when neither is set.
    static func apiKey(_ settings: SpeechSettings, _ environment: [String: String]) throws(Failure) -> String? {
        do {
            return try APIKey.read(env: settings.apiKeyEnv, file: settings.apiKeyFile, environment: environment)
        } catch {
            throw Failure(description: "speech.\(error.description)")
        }
    }

    /// Words callers use with this service (intent and motif keywords), at most `limit`, for
    /// engines that take a prompt: they bias recognition towards the service's vocabulary.
    static func hints(_ deployment: Deployment, limit: Int = 40) -> [String] {
        var seen: Set<String> = []
        var hints: [String] = []
        let words =
            deployment.intents.intents.flatMap(\.keywords) + deployment.config.appointments.motifs.flatMap(\.keywords)
        for word in words where word.count > 2 && seen.insert(word.lowercased()).inserted {
            hints.append(word)
            if hints.count == limit { break }
        }
        return hints
    }

    static func turnSettings(_ settings: SpeechSettings) -> TurnSettings {
        TurnSettings(
            trailingSilence: Double(settings.trailingSilenceMilliseconds) / 1000,
            maxUtterance: Double(settings.maxUtteranceSeconds))
    }
}

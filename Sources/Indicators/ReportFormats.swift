import CallbotCore
import Foundation

/// `report --format json` (DESIGN.md): `{"from", "to", "totals", "periods", "per_intent"}`.
package struct ReportJSON: Encodable {
    let report: IndicatorReport

    package init(_ report: IndicatorReport) { self.report = report }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct Figures: Encodable {
        let indicators: Indicators
        var start: LocalDate?
        var end: LocalDate?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            if let start { try container.encode(start.iso, forKey: Key("start")) }
            if let end { try container.encode(end.iso, forKey: Key("end")) }
            for (name, value) in indicators.fields {
                if let value {
                    if Indicators.countFields.contains(name) {
                        try container.encode(Int(value), forKey: Key(name))
                    } else {
                        try container.encode(value, forKey: Key(name))
                    }
                } else {
                    try container.encodeNil(forKey: Key(name))
                }
            }
        }
    }

    struct IntentJSON: Encodable {
        let calls: Int
        let selfServiceRate: Double?

        enum CodingKeys: String, CodingKey {
            case calls
            case selfServiceRate = "self_service_rate"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(calls, forKey: .calls)
            try container.encode(selfServiceRate, forKey: .selfServiceRate)
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(report.from.iso, forKey: Key("from"))
        try container.encode(report.to.iso, forKey: Key("to"))
        try container.encode(Figures(indicators: report.totals), forKey: Key("totals"))
        try container.encode(
            report.periods.map { Figures(indicators: $0.indicators, start: $0.start, end: $0.end) },
            forKey: Key("periods"))
        try container.encode(
            report.perIntent.mapValues { IntentJSON(calls: $0.calls, selfServiceRate: $0.selfServiceRate) },
            forKey: Key("per_intent"))
    }
}

/// `report --format csv`: RFC 4180 (comma, UTF-8, "." decimals, as data.gouv.fr asks), one row
/// per period, then a TOTAL row; French column names documented in docs/indicators.md.
package enum ReportCSV {
    /// The French column of each indicator, in order.
    static let columns: [(field: String, column: String)] = [
        ("calls_received", "appels_recus"), ("calls_answered", "appels_decroches"), ("answer_rate", "taux_de_reponse"),
        ("handoffs_requested", "demandes_de_conseiller"), ("handoffs_answered", "appels_pris_par_un_conseiller"),
        ("handoffs_abandoned", "abandons_en_attente"), ("handoffs_refused", "demandes_sans_conseiller"),
        ("taux_de_decroche", "taux_de_decroche"), ("wait_mean_seconds", "attente_moyenne_secondes"),
        ("wait_p90_seconds", "attente_p90_secondes"), ("self_service_calls", "appels_resolus_par_le_robot"),
        ("self_service_rate", "taux_de_resolution_autonome"), ("callbacks_offered", "rappels_proposes"),
        ("callbacks_scheduled", "rappels_programmes"), ("callbacks_made_in_window", "rappels_faits_dans_le_creneau"),
        ("appointments_booked", "rendez_vous_pris"), ("appointments_moved", "rendez_vous_deplaces"),
        ("appointments_cancelled", "rendez_vous_annules"), ("satisfaction_responses", "reponses_satisfaction"),
        ("satisfaction_mean", "satisfaction_moyenne"), ("satisfaction_share_4_5", "part_satisfaits_4_5"),
        ("satisfaction_response_rate", "taux_de_reponse_satisfaction"), ("assistant_answers", "reponses_assistant"),
        ("assistant_refusals", "refus_assistant"), ("assistant_followed_by_handoff", "assistant_puis_conseiller"),
    ]

    package static func render(_ report: IndicatorReport, perIntent: Bool) -> String {
        var lines = [(["debut", "fin"] + columns.map(\.column)).joined(separator: ",")]
        for period in report.periods {
            lines.append(row(period.start.iso, period.end.iso, period.indicators))
        }
        lines.append(row("TOTAL", "", report.totals))
        if perIntent {
            lines.append("")
            lines.append("motif,appels,taux_de_resolution_autonome")
            for (name, figures) in report.perIntent.sorted(by: { $0.key < $1.key }) {
                lines.append("\(quoted(name)),\(figures.calls),\(figures.selfServiceRate.map { "\($0)" } ?? "")")
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A field as RFC 4180 wants it: in quotes, doubled inside, when it holds a comma, a quote or a line break.
    static func quoted(_ field: String) -> String {
        guard field.contains(where: { ",\"\r\n".contains($0) }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func row(_ start: String, _ end: String, _ indicators: Indicators) -> String {
        let values = Dictionary(uniqueKeysWithValues: indicators.fields.map { ($0.name, $0.value) })
        let cells = columns.map { column -> String in
            guard let value = values[column.field] ?? nil else { return "" }
            return Indicators.countFields.contains(column.field) ? String(Int(value)) : String(value)
        }
        return ([start, end] + cells).joined(separator: ",")
    }
}

/// `report --format text`: the main indicators per period, for a person.
package enum ReportText {
    package static func render(_ report: IndicatorReport, perIntent: Bool) -> String {
        let header = [
            "période", "appels", "conseiller", "décroché", "attente", "robot seul", "rappels", "rdv", "satisf.",
        ]
        var rows: [[String]] = []
        for period in report.periods {
            let label = period.start == period.end ? period.start.iso : "\(period.start.iso)…\(period.end.iso)"
            rows.append(cells(label, period.indicators))
        }
        rows.append(cells("total", report.totals))
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        let line = { (row: [String]) in
            row.enumerated().map { i, cell in i == 0 ? pad(cell, widths[i]) : padLeft(cell, widths[i]) }
                .joined(separator: "  ")
        }
        var out = ["Indicateurs du plan téléphone, du \(report.from.iso) au \(report.to.iso)", "", line(header)]
        out += rows.map(line)
        let target = Int(Indicators.tauxDeDecrocheTarget * 100)
        out.append("")
        out.append(
            "décroché : appels pris par un conseiller sur demandes de conseiller (cible \(target) %) ; attente : moyenne / 90e centile"
        )
        if perIntent {
            out.append("")
            out.append("motif  appels  robot seul")
            for (name, figures) in report.perIntent.sorted(by: { $0.value.calls > $1.value.calls }) {
                out.append("\(name)  \(figures.calls)  \(percent(figures.selfServiceRate))")
            }
        }
        return out.joined(separator: "\n")
    }

    static func cells(_ label: String, _ i: Indicators) -> [String] {
        let c = i.counts
        let wait = i.waitMean.map { "\(Int($0.rounded())) s / \(Int((i.waitP90 ?? 0).rounded())) s" } ?? "–"
        let satisfaction = i.satisfactionMean.map { String(format: "%.1f", $0) } ?? "–"
        return [
            label, "\(c.callsReceived)", "\(c.handoffsRequested)", percent(i.tauxDeDecroche), wait,
            percent(i.selfServiceRate), "\(c.callbacksScheduled)",
            "\(c.appointmentsBooked)", satisfaction,
        ]
    }

    static func percent(_ rate: Double?) -> String { rate.map { "\(Int(($0 * 100).rounded())) %" } ?? "–" }
    static func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: width - text.count) }
    static func padLeft(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: width - text.count) + text
    }
}

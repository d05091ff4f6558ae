//! The words of the human-readable reports in each language: labels, severities, subjects,
//! check titles and legal citations. Finding messages and skip reasons are written by the checks
//! in English; in Chinese they are shown under a label that says so.

use crate::checks;
use crate::config::Lang;
use crate::findings::{Citation, Finding, Severity, Subject};

/// Every fixed phrase the table and Markdown renderers use.
pub struct Text {
    pub report_title: &'static str,
    pub severity: &'static str,
    pub check: &'static str,
    pub subject: &'static str,
    pub finding: &'static str,
    pub standing: &'static str,
    pub no_findings: &'static str,
    /// The findings count column of the severity table.
    pub findings_column: &'static str,
    pub findings_heading: &'static str,
    pub policy_packs: &'static str,
    pub tool: &'static str,
    pub schema: &'static str,
    pub key_id: &'static str,
    pub waived_note: &'static str,
    pub since_baseline: &'static str,
    pub resolved: &'static str,
    pub segment_moves: &'static str,
    pub fingerprint: &'static str,
    pub message: &'static str,
    pub evidence: &'static str,
    pub value: &'static str,
    pub legal_basis: &'static str,
    pub waived_by: &'static str,
    pub until: &'static str,
    pub checks: &'static str,
    pub status: &'static str,
    pub ran: &'static str,
    pub skipped: &'static str,
    pub disabled: &'static str,
    pub segmentation: &'static str,
    pub inputs: &'static str,
    pub new: &'static str,
    pub persisting: &'static str,
    pub waived: &'static str,
    pub coverage_heading: &'static str,
    /// What the coverage table says, before it.
    pub coverage_intro: &'static str,
    pub comparisons: &'static str,
    pub flagged: &'static str,
    pub shown_fair: &'static str,
    pub inconclusive: &'static str,
    /// The share of what was offered a verdict covers, as a column suffix.
    pub of_offered: &'static str,
}

const EN: Text = Text {
    coverage_heading: "Pricing coverage",
    coverage_intro: "Each SKU × cohort comparison is flagged, shown fair (its gap shown to lie within the equivalence margin by two one-sided tests), or inconclusive (too few matched strata, or an interval wider than the margin). The shares are of what both cohorts were offered in the matched strata; report.json lists every comparison with its verdict and reason.",
    comparisons: "comparisons",
    flagged: "flagged",
    shown_fair: "shown fair",
    inconclusive: "inconclusive",
    of_offered: "of offered",
    report_title: "fairmark audit report",
    severity: "severity",
    check: "check",
    subject: "subject",
    finding: "finding",
    standing: "standing",
    no_findings: "No findings.",
    findings_column: "findings",
    findings_heading: "Findings",
    policy_packs: "Policy packs",
    tool: "Tool",
    schema: "report schema",
    key_id: "key id",
    waived_note: "finding(s) are waived (accepted risks from the config, judged on {date}); they are listed but do not fail the run.",
    since_baseline: "Since the baseline",
    resolved: "Resolved",
    segment_moves: "| from segment | to segment | customers |",
    fingerprint: "fingerprint",
    message: "",
    evidence: "evidence",
    value: "value",
    legal_basis: "Legal basis",
    waived_by: "Waived by",
    until: "until",
    checks: "Checks",
    status: "status",
    ran: "ran, {n} finding(s)",
    skipped: "skipped",
    disabled: "disabled",
    segmentation: "Segmentation",
    inputs: "Inputs",
    new: "new",
    persisting: "persisting",
    waived: "waived until",
};

const ZH: Text = Text {
    coverage_heading: "定价覆盖情况",
    coverage_intro: "每个商品 × 客群比较的结论为：已标记；已证明公平（两个单侧检验表明差距在等效界限之内）；或无法判断（匹配层不足，或区间宽于界限）。占比按两个客群在匹配层中的报价金额计算；report.json 列出每项比较的结论与原因。",
    comparisons: "比较数",
    flagged: "已标记",
    shown_fair: "已证明公平",
    inconclusive: "无法判断",
    of_offered: "占报价金额",
    report_title: "fairmark 审计报告",
    severity: "严重程度",
    check: "检查项",
    subject: "对象",
    finding: "发现",
    standing: "状态",
    no_findings: "没有发现。",
    findings_column: "发现数",
    findings_heading: "发现",
    policy_packs: "政策包",
    tool: "工具",
    schema: "报告结构版本",
    key_id: "密钥编号",
    waived_note: "项发现已豁免（配置中接受的风险，按 {date} 判断）；列出但不导致审计失败。",
    since_baseline: "与基线相比",
    resolved: "已解决",
    segment_moves: "| 原分群 | 现分群 | 客户数 |",
    fingerprint: "指纹",
    message: "说明（英文）：",
    evidence: "证据",
    value: "值",
    legal_basis: "法律依据",
    waived_by: "豁免人",
    until: "有效期至",
    checks: "检查项",
    status: "状态",
    ran: "已运行，{n} 项发现",
    skipped: "已跳过",
    disabled: "已停用",
    segmentation: "客户分群",
    inputs: "输入数据",
    new: "新增",
    persisting: "持续存在",
    waived: "已豁免，有效期至",
};

pub fn text(lang: Lang) -> &'static Text {
    match lang {
        Lang::En => &EN,
        Lang::ZhCn => &ZH,
    }
}

pub fn severity(lang: Lang, severity: Severity) -> &'static str {
    match lang {
        Lang::En => severity.name(),
        Lang::ZhCn => match severity {
            Severity::Critical => "严重",
            Severity::High => "高",
            Severity::Medium => "中",
            Severity::Low => "低",
            Severity::Info => "提示",
        },
    }
}

pub fn subject(lang: Lang, subject: &Subject) -> String {
    match lang {
        Lang::En => subject.to_string(),
        Lang::ZhCn => subject
            .parts()
            .map(|(name, value)| {
                let label = match name {
                    "dataset" => "数据集",
                    "column" => "列",
                    "sku" => "商品",
                    "campaign" => "营销活动",
                    "channel" => "渠道",
                    "rule" => "规则",
                    _ => "豁免",
                };
                format!("{label} {value}")
            })
            .collect::<Vec<_>>()
            .join("，"),
    }
}

/// The finding's title: the check's own in English; in Chinese the check's Chinese title and
/// the subject, since the English title is written by the check.
pub fn title(lang: Lang, finding: &Finding) -> String {
    match (lang, checks::info(&finding.check)) {
        (Lang::ZhCn, Some(info)) => {
            format!("{}：{}", info.title_zh, subject(lang, &finding.subject))
        }
        _ => finding.title.clone(),
    }
}

/// The provision as cited: in Chinese by its Chinese title and article when the pack gives
/// them, else as the pack wrote it.
pub fn citation(lang: Lang, basis: &Citation) -> (&str, &str) {
    match lang {
        Lang::ZhCn => (
            basis.citation_zh.as_deref().unwrap_or(&basis.citation),
            basis.gist_zh.as_deref().unwrap_or(&basis.gist),
        ),
        Lang::En => (&basis.citation, &basis.gist),
    }
}

/// A finding's standing (new, persisting, waived) in `lang`.
pub fn standing(lang: Lang, finding: &Finding) -> Option<String> {
    use crate::findings::BaselineStatus;
    let words = text(lang);
    let status = finding.baseline.map(|b| match b {
        BaselineStatus::New => words.new,
        BaselineStatus::Persisting => words.persisting,
    });
    let separator = if lang == Lang::ZhCn { "，" } else { ", " };
    match (&finding.waiver, status) {
        (Some(w), Some(status)) => {
            Some(format!("{status}{separator}{} {}", words.waived, w.expires))
        }
        (Some(w), None) => Some(format!("{} {}", words.waived, w.expires)),
        (None, Some(status)) => Some(status.to_string()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_titles_come_from_the_registry_and_citations_from_the_pack() {
        let finding = Finding::new(
            "pricing.tenure-overcharge",
            Severity::High,
            Subject {
                sku: Some("SKU1".into()),
                ..Subject::dataset("orders")
            },
            "",
            "English title".into(),
            "m".into(),
        );
        assert_eq!(
            title(Lang::ZhCn, &finding),
            "老客户被报更高价格（大数据杀熟）：数据集 orders，商品 SKU1"
        );
        assert_eq!(title(Lang::En, &finding), "English title");
        let basis = Citation {
            pack: "cn".into(),
            id: "pipl-24".into(),
            citation: "PIPL Art. 24".into(),
            gist: "g".into(),
            citation_zh: Some("《中华人民共和国个人信息保护法》第二十四条".into()),
            gist_zh: None,
            channels: vec![],
        };
        assert_eq!(
            citation(Lang::ZhCn, &basis),
            ("《中华人民共和国个人信息保护法》第二十四条", "g")
        );
    }
}

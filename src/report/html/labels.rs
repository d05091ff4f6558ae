//! Every word `report.html` adds around the report's data, in one place, so that another
//! language is one more [`Labels`] value. What the checks wrote (titles, messages, reasons) is
//! shown as it is.

use crate::findings::Severity;

/// The page's words. Sentences that carry numbers are functions, so a translation can put the
/// numbers where its grammar wants them.
pub struct Labels {
    /// The page's `lang` attribute.
    pub lang: &'static str,
    pub title: &'static str,
    pub report_schema: &'static str,
    pub config: &'static str,
    pub key_id: &'static str,
    pub policy_packs: &'static str,
    pub pass: &'static str,
    pub fail: &'static str,
    /// The gate: the severity findings fail at, and whether only new ones do.
    pub gate: fn(&str, bool) -> String,
    /// `(failing, all)` findings.
    pub failing: fn(usize, usize) -> String,
    /// Waived findings, and the day waivers were judged on.
    pub waived: fn(usize, Option<&str>) -> String,
    pub by_area: &'static str,
    pub by_area_caption: &'static str,
    pub area: &'static str,
    pub total: &'static str,
    /// A check family's heading: `privacy`, `pricing`, `mail`, `waiver`, or another family.
    pub area_name: fn(&str) -> String,
    pub severity: fn(Severity) -> &'static str,

    pub since_baseline: &'static str,
    pub probe: &'static str,
    pub compared_with: fn(&str) -> String,
    pub new: &'static str,
    pub persisting: &'static str,
    pub resolved: &'static str,
    pub resolved_findings: &'static str,
    pub none_resolved: &'static str,
    pub segment_shift: &'static str,
    /// `(stayed, moved, entered, left)` customers.
    pub shift_counts: fn(u64, u64, u64, u64) -> String,
    pub shift_skipped: fn(&str) -> String,
    pub from_segment: &'static str,
    pub to_segment: &'static str,
    pub customers: &'static str,

    pub contents: &'static str,
    pub filter: &'static str,
    pub filter_severity: &'static str,
    pub filter_area: &'static str,
    /// Filled in by the page's script: `{shown}` and `{total}` are replaced.
    pub filter_count: &'static str,

    pub findings: &'static str,
    pub no_findings: &'static str,
    pub no_findings_in_area: &'static str,
    pub check: &'static str,
    pub subject: &'static str,
    pub fingerprint: &'static str,
    pub waived_until: fn(&str) -> String,
    /// `(owner, expires, reason)`.
    pub waived_by: fn(&str, &str, &str) -> String,
    pub evidence: &'static str,
    pub legal_basis: &'static str,
    /// Put before a finding's message, which the checks write in English.
    pub message: &'static str,

    pub forest_title: &'static str,
    pub forest_caption: &'static str,
    /// The interval's confidence, in percent.
    pub mean_gap_ci: fn(f64) -> String,
    pub mean_gap: &'static str,
    pub interval: &'static str,
    pub hodges_lehmann: &'static str,
    pub median_gap: &'static str,
    pub episode_gap: &'static str,
    pub sku: &'static str,
    pub cohorts: &'static str,
    pub matched_strata: &'static str,
    pub q_value: &'static str,
    pub timeline_title: &'static str,
    pub timeline_caption: &'static str,
    pub whole_bucket: &'static str,
    pub one_condition: &'static str,
    pub episodes: &'static str,
    pub episodes_shown: &'static str,
    /// `(shown, all)` episodes of a comparison, when a finding lists only some.
    pub shown_of: fn(usize, usize) -> String,
    pub episode_buckets: &'static str,
    pub episode_share: &'static str,
    pub first: &'static str,
    pub last: &'static str,

    pub mail_title: &'static str,
    pub mail_caption: &'static str,
    pub campaign: &'static str,
    pub channel: &'static str,
    pub messages: &'static str,
    pub consented: &'static str,
    pub no_consent: &'static str,
    pub after_opt_out: &'static str,
    pub quiet_hours: &'static str,
    /// The categories the policy does not judge, already named.
    pub not_judged: fn(&[&str]) -> String,
    pub mail_unavailable: &'static str,

    pub segments: &'static str,
    /// `(reference date, customers, customers with orders, monetary from)`.
    pub segments_intro: fn(&str, u64, u64, Option<&str>) -> String,
    pub segment: &'static str,
    pub share: &'static str,
    pub sizes_title: &'static str,
    pub rfm_title: &'static str,
    pub rfm_caption: &'static str,
    pub median_recency: &'static str,
    pub median_frequency: &'static str,
    pub median_monetary: &'static str,

    pub anonymity_title: &'static str,
    pub anonymity_caption: &'static str,
    /// `(k required, k achieved, classes, customers suppressed, share of cells suppressed)`.
    pub anonymity_summary: fn(u64, u64, usize, u64, f64) -> String,
    pub raw_quasi: &'static str,
    pub published: &'static str,
    pub alone: &'static str,
    pub below_k: &'static str,
    pub suppressed: &'static str,
    pub at_least_k: &'static str,
    pub classes: &'static str,
    pub smallest_class: &'static str,
    pub generalized_title: &'static str,
    pub column: &'static str,
    pub kind: &'static str,
    pub level: &'static str,
    /// A column's generalization level out of its kind's top level.
    pub level_of: fn(u8, u8) -> String,
    pub published_as: &'static str,
    pub distinct_values: &'static str,
    pub no_anonymity: &'static str,

    pub checks: &'static str,
    pub status: &'static str,
    pub ran: fn(usize) -> String,
    pub skipped: fn(&str) -> String,
    pub disabled: fn(&str) -> String,
    pub inputs: &'static str,
    pub role: &'static str,
    pub path: &'static str,
    pub format: &'static str,
    pub rows: &'static str,
    pub files: &'static str,
    pub sha256: &'static str,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

pub const EN: Labels = Labels {
    lang: "en",
    title: "fairmark audit report",
    report_schema: "report schema",
    config: "config",
    key_id: "key id",
    policy_packs: "policy packs",
    pass: "PASS",
    fail: "FAIL",
    gate: |severity, new_only| {
        let new = if new_only {
            ", new since the baseline"
        } else {
            ""
        };
        format!("The run fails on findings at or above {severity}{new} and not waived.")
    },
    failing: |failing, all| {
        format!(
            "{failing} of {} fail it.",
            plural(all, "finding", "findings")
        )
    },
    waived: |n, on| match on {
        Some(day) => format!(
            "{} waived (judged on {day}).",
            plural(n, "finding", "findings")
        ),
        None => format!("{} waived.", plural(n, "finding", "findings")),
    },
    by_area: "Findings by area and severity",
    by_area_caption: "Findings per check family, stacked by severity.",
    area: "area",
    total: "total",
    area_name: |area| match area {
        "privacy" => "Privacy".into(),
        "pricing" => "Pricing".into(),
        "mail" => "Marketing mail and SMS".into(),
        "waiver" => "Waivers".into(),
        other => other.into(),
    },
    severity: Severity::name,

    since_baseline: "Since the baseline",
    probe: "Probe of the pricing service",
    compared_with: |source| format!("Compared with the audit in {source}."),
    new: "new",
    persisting: "persisting",
    resolved: "resolved",
    resolved_findings: "Resolved findings",
    none_resolved: "No finding of the baseline was resolved.",
    segment_shift: "Segment shift",
    shift_counts: |stayed, moved, entered, left| {
        format!(
            "{moved} customers moved to another segment, {stayed} stayed, {entered} entered, {left} left."
        )
    },
    shift_skipped: |why| format!("Segment shift not computed: {why}."),
    from_segment: "from segment",
    to_segment: "to segment",
    customers: "customers",

    contents: "Contents",
    filter: "Show findings",
    filter_severity: "severity",
    filter_area: "area",
    filter_count: "{shown} of {total} findings shown",

    findings: "Findings",
    no_findings: "No findings.",
    no_findings_in_area: "No findings in this area.",
    check: "check",
    subject: "subject",
    fingerprint: "fingerprint",
    waived_until: |day| format!("waived until {day}"),
    waived_by: |owner, expires, reason| format!("Waived by {owner} until {expires}: {reason}"),
    evidence: "evidence",
    legal_basis: "Legal basis",
    message: "",

    forest_title: "Flagged SKUs: how much more one cohort was offered",
    forest_caption: "Gaps between the cohorts' offered prices in matched strata (same SKU, time and trading conditions), in percent; 0 is no gap.",
    mean_gap_ci: |confidence| format!("mean gap and {confidence:.0}% confidence interval"),
    mean_gap: "mean gap",
    interval: "interval",
    hodges_lehmann: "Hodges–Lehmann",
    median_gap: "median stratum gap",
    episode_gap: "gap in episodes",
    sku: "SKU",
    cohorts: "cohorts",
    matched_strata: "matched strata",
    q_value: "q",
    timeline_title: "Episodes: when the gap appeared",
    timeline_caption: "Each mark is a time bucket where the first cohort was offered more in every matched stratum; darker is a larger gap. A finding lists at most 40 episodes.",
    whole_bucket: "all conditions",
    one_condition: "one condition value",
    episodes: "episodes",
    episodes_shown: "shown",
    shown_of: |shown, all| format!("{shown} of {all} episodes shown"),
    episode_buckets: "buckets",
    episode_share: "share of buckets",
    first: "first",
    last: "last",

    mail_title: "Messages per campaign",
    mail_caption: "Each message counted once, in the first that applies: after an opt-out, without consent, inside quiet hours, consented.",
    campaign: "campaign",
    channel: "channel",
    messages: "messages",
    consented: "consented",
    no_consent: "no consent",
    after_opt_out: "after opt-out",
    quiet_hours: "quiet hours",
    not_judged: |names| {
        format!(
            "The policy does not judge {}: those messages count as consented.",
            names.join(", ")
        )
    },
    mail_unavailable: "No per-campaign breakdown: consent is judged only with a mail log and a consents dataset.",

    segments: "Segments",
    segments_intro: |date, customers, with_orders, monetary_from| {
        let monetary = match monetary_from {
            Some(column) => format!("monetary value from {column}"),
            None => "no monetary value (no price or amount column)".to_string(),
        };
        format!("As of {date}: {customers} customers, {with_orders} with orders; {monetary}.")
    },
    segment: "segment",
    share: "share",
    sizes_title: "Customers per segment",
    rfm_title: "Recency, frequency and monetary value (medians per segment)",
    rfm_caption: "Each panel on its own scale; prospects have no orders.",
    median_recency: "recency (days)",
    median_frequency: "frequency",
    median_monetary: "monetary",

    anonymity_title: "Customers by the size of their quasi-identifier class",
    anonymity_caption: "A class is the customers sharing one combination of quasi-identifier values; below k a customer can be singled out.",
    anonymity_summary: |k_required, k_achieved, classes, suppressed, cells| {
        format!(
            "Required k = {k_required}, achieved k = {k_achieved} over {classes} published classes; {suppressed} customers suppressed, {:.2}% of quasi-identifier cells published as *.",
            100.0 * cells
        )
    },
    raw_quasi: "raw values",
    published: "published",
    alone: "alone in its class",
    below_k: "in a class smaller than k",
    suppressed: "suppressed (*)",
    at_least_k: "in a class of k or more",
    classes: "classes",
    smallest_class: "smallest class",
    generalized_title: "What was generalized",
    column: "column",
    kind: "kind",
    level: "level",
    level_of: |level, top| format!("{level} of {top}"),
    published_as: "published as",
    distinct_values: "distinct values",
    no_anonymity: "The customers dataset maps no quasi-identifiers: nothing to generalize.",

    checks: "Checks",
    status: "status",
    ran: |n| format!("ran, {}", plural(n, "finding", "findings")),
    skipped: |reason| format!("skipped: {reason}"),
    disabled: |reason| format!("disabled: {reason}"),
    inputs: "Inputs",
    role: "role",
    path: "path",
    format: "format",
    rows: "rows",
    files: "files",
    sha256: "sha256 (first file)",
};

/// The page in Simplified Chinese. Finding messages and skip reasons stay as the checks wrote
/// them, in English, under a label that says so.
pub const ZH: Labels = Labels {
    lang: "zh-CN",
    title: "fairmark 审计报告",
    report_schema: "报告结构版本",
    config: "配置",
    key_id: "密钥编号",
    policy_packs: "政策包",
    pass: "通过",
    fail: "未通过",
    gate: |severity, new_only| {
        let new = if new_only {
            "且为基线之后新增"
        } else {
            ""
        };
        format!("达到或超过「{severity}」{new}、未豁免的发现会使审计失败。")
    },
    failing: |failing, all| format!("共 {all} 项发现，其中 {failing} 项导致失败。"),
    waived: |n, on| match on {
        Some(day) => format!("{n} 项发现已豁免（按 {day} 判断）。"),
        None => format!("{n} 项发现已豁免。"),
    },
    by_area: "按领域和严重程度统计的发现",
    by_area_caption: "每个检查类别的发现数，按严重程度堆叠。",
    area: "领域",
    total: "合计",
    area_name: |area| match area {
        "privacy" => "隐私".into(),
        "pricing" => "定价".into(),
        "mail" => "营销邮件与短信".into(),
        "waiver" => "豁免".into(),
        other => other.into(),
    },
    severity: |severity| match severity {
        Severity::Critical => "严重",
        Severity::High => "高",
        Severity::Medium => "中",
        Severity::Low => "低",
        Severity::Info => "提示",
    },

    since_baseline: "与基线相比",
    probe: "定价服务探测（说明为英文）",
    compared_with: |source| format!("与 {source} 中的审计相比。"),
    new: "新增",
    persisting: "持续存在",
    resolved: "已解决",
    resolved_findings: "已解决的发现",
    none_resolved: "基线中的发现均未解决。",
    segment_shift: "分群变化",
    shift_counts: |stayed, moved, entered, left| {
        format!("{moved} 位客户换到其他分群，{stayed} 位未变，{entered} 位新进入，{left} 位离开。")
    },
    shift_skipped: |why| format!("未计算分群变化（英文原因：{why}）。"),
    from_segment: "原分群",
    to_segment: "现分群",
    customers: "客户数",

    contents: "目录",
    filter: "显示发现",
    filter_severity: "严重程度",
    filter_area: "领域",
    filter_count: "显示 {shown} / {total} 项发现",

    findings: "发现",
    no_findings: "没有发现。",
    no_findings_in_area: "此领域没有发现。",
    check: "检查项",
    subject: "对象",
    fingerprint: "指纹",
    waived_until: |day| format!("已豁免，有效期至 {day}"),
    waived_by: |owner, expires, reason| format!("豁免人 {owner}，有效期至 {expires}：{reason}"),
    evidence: "证据",
    legal_basis: "法律依据",
    message: "说明（英文）：",

    forest_title: "被标记的商品：一个群体被报价高出多少",
    forest_caption: "在匹配分层（同一商品、时间和交易条件）中两个群体报价之差，以百分比表示；0 表示无差别。",
    mean_gap_ci: |confidence| format!("平均差距及 {confidence:.0}% 置信区间"),
    mean_gap: "平均差距",
    interval: "区间",
    hodges_lehmann: "Hodges–Lehmann 估计",
    median_gap: "分层差距中位数",
    episode_gap: "时段内差距",
    sku: "商品",
    cohorts: "群体",
    matched_strata: "匹配分层数",
    q_value: "q 值",
    timeline_title: "时段：差距何时出现",
    timeline_caption: "每个标记是一个时间段，其中第一个群体在每个匹配分层中都被报价更高；颜色越深差距越大。每项发现最多列出 40 个时段。",
    whole_bucket: "全部条件",
    one_condition: "单一条件取值",
    episodes: "时段",
    episodes_shown: "已显示",
    shown_of: |shown, all| format!("显示 {shown} / {all} 个时段"),
    episode_buckets: "时间段数",
    episode_share: "时间段占比",
    first: "首次",
    last: "最近",

    mail_title: "各营销活动的消息",
    mail_caption: "每条消息只计一次，按以下顺序归入第一个适用的类别：退订后发送、未经同意、免打扰时段、已同意。",
    campaign: "营销活动",
    channel: "渠道",
    messages: "消息数",
    consented: "已同意",
    no_consent: "未经同意",
    after_opt_out: "退订后发送",
    quiet_hours: "免打扰时段",
    not_judged: |names| format!("政策未判断 {}：这些消息计为已同意。", names.join("、")),
    mail_unavailable: "没有按营销活动的统计：只有同时提供发送记录和同意记录时才判断同意。",

    segments: "客户分群",
    segments_intro: |date, customers, with_orders, monetary_from| {
        let monetary = match monetary_from {
            Some(column) => format!("消费金额取自 {column}"),
            None => "无消费金额（没有价格或金额列）".to_string(),
        };
        format!("截至 {date}：{customers} 位客户，其中 {with_orders} 位有订单；{monetary}。")
    },
    segment: "分群",
    share: "占比",
    sizes_title: "各分群的客户数",
    rfm_title: "最近购买、购买频率和消费金额（各分群中位数）",
    rfm_caption: "每个面板使用各自的刻度；潜在客户没有订单。",
    median_recency: "距最近购买（天）",
    median_frequency: "购买频率",
    median_monetary: "消费金额",

    anonymity_title: "按准标识符等价类大小统计的客户",
    anonymity_caption: "等价类是准标识符取值组合相同的客户；等价类小于 k 时客户可能被单独识别。",
    anonymity_summary: |k_required, k_achieved, classes, suppressed, cells| {
        format!(
            "要求 k = {k_required}，实际 k = {k_achieved}，共发布 {classes} 个等价类；抑制 {suppressed} 位客户，{:.2}% 的准标识符单元格发布为 *。",
            100.0 * cells
        )
    },
    raw_quasi: "原始值",
    published: "发布值",
    alone: "独占一个等价类",
    below_k: "所在等价类小于 k",
    suppressed: "已抑制（*）",
    at_least_k: "所在等价类不小于 k",
    classes: "等价类数",
    smallest_class: "最小等价类",
    generalized_title: "泛化了什么",
    column: "列",
    kind: "类型",
    level: "层级",
    level_of: |level, top| format!("第 {level} 级（共 {top} 级）"),
    published_as: "发布形式",
    distinct_values: "不同取值数",
    no_anonymity: "客户数据集未映射准标识符：无需泛化。",

    checks: "检查项",
    status: "状态",
    ran: |n| format!("已运行，{n} 项发现"),
    skipped: |reason| format!("已跳过（英文原因：{reason}）"),
    disabled: |reason| format!("已停用（英文原因：{reason}）"),
    inputs: "输入数据",
    role: "角色",
    path: "路径",
    format: "格式",
    rows: "行数",
    files: "文件数",
    sha256: "sha256（第一个文件）",
};

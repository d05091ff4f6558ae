//! Chinese personal names and postal addresses in free text.
//!
//! A surname and one or two characters are a name only next to a word that announces one:
//! after a label (收货人：, 联系人, 姓名, or the weaker 客户, 会员, which must be followed by
//! something that ends a name), or before 先生, 女士, 小姐. Brands that begin with a surname
//! (王老吉, 李宁, 张小泉) and everyday words that do (周末, 高兴, 黄金) are never names. A
//! surname alone (王先生) is not reported: it names nobody without more.
//!
//! An address is a road or street with a house number (张江路123号), preceded by a province,
//! city, district or town, or followed by a building, unit or room, or announced by a word such
//! as 地址 or 寄到. A city or district alone (上海, 北京市朝阳区) is not an address.
//!
//! Both work on folded text, so full-width digits in a house number are digits here.

use std::sync::LazyLock;

use regex::Regex;

use super::PiiKind;

/// About the hundred most common single-character surnames (the 2020 census ranking),
/// without the few that are too often ordinary words next to a label (于 and 和 are left out;
/// 万, 高, 金 stay and are guarded by [`EVERYDAY_WORDS`]).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖施洪";
const COMPOUND_SURNAMES: [&str; 20] = [
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙",
    "宇文", "司徒", "端木", "轩辕", "独孤", "南宫", "西门", "呼延",
];
/// Labels after which a name follows directly: "收货人：张伟".
const LABELS: [&str; 9] = [
    "姓名",
    "联系人",
    "收件人",
    "收货人",
    "寄件人",
    "持卡人",
    "户名",
    "入住人",
    "乘机人",
];
/// Words that often precede a name but also a product or a plain word ("客户张伟反馈" but
/// "客户周末不在家"): the name must be followed by an honorific, a word from
/// [`WORDS_AFTER_NAMES`], punctuation or the end of the text.
const WEAK_LABELS: [&str; 5] = ["客户", "顾客", "用户", "会员", "买家"];
const HONORIFICS: [&str; 3] = ["先生", "女士", "小姐"];
/// Words that end a name: what notes say next (电话, 反馈) and the honorifics.
const WORDS_AFTER_NAMES: [&str; 24] = [
    "先生", "女士", "小姐", "电话", "手机", "地址", "联系", "反馈", "来电", "表示", "要求", "购买",
    "下单", "已经", "收货", "签收", "投诉", "咨询", "申请", "退货", "退款", "说明", "本人", "家属",
];
/// Characters that end a name: particles, prepositions and verbs that follow a name in notes
/// far more often than they are part of one.
const CHARACTERS_AFTER_NAMES: &str =
    "的说在已要和与及等是于了把被给让也都还就又来去到打买退换收寄送称因对向不没很请之";
/// Brands and shops whose names begin with a surname.
const BRANDS: [&str; 20] = [
    "王老吉",
    "李宁",
    "张小泉",
    "周大福",
    "周黑鸭",
    "周生生",
    "李锦记",
    "王致和",
    "杨国福",
    "马应龙",
    "张裕",
    "谢馥春",
    "王守义",
    "陈李济",
    "胡庆余堂",
    "吴裕泰",
    "徐福记",
    "黄飞红",
    "钱大妈",
    "孔府家",
];
/// Everyday words and place names that begin with a surname character.
const EVERYDAY_WORDS: [&str; 64] = [
    "周末", "周年", "周边", "周日", "周一", "周二", "周三", "周四", "周五", "周六", "周期", "周到",
    "高兴", "高端", "高级", "高档", "高清", "高速", "高度", "高铁", "黄金", "黄色", "金卡", "金额",
    "金色", "金牌", "马上", "方便", "方式", "方面", "方法", "方案", "万一", "万元", "何时", "江南",
    "石头", "白色", "白天", "史上", "钱包", "程序", "陆续", "常常", "常用", "许多", "毛巾", "毛衣",
    "田园", "王牌", "温度", "龙虾", "夏季", "夏天", "韩国", "余额", "谢谢", "易碎", "范围", "沈阳",
    "江苏", "江西", "武汉", "康复",
];
/// Words after which a road and number are an address even without a city or a room.
const ADDRESS_WORDS: [&str; 10] = [
    "地址",
    "住址",
    "寄到",
    "送到",
    "寄往",
    "发往",
    "送至",
    "寄至",
    "住在",
    "配送到",
];
/// How far before an address a word from [`ADDRESS_WORDS`] may end, in characters.
const ADDRESS_WORD_BEFORE: usize = 4;

/// A province, city, district or town, then a road with a house number, then building, unit
/// and room. Place names are Han characters other than the verbs and particles that notes put
/// before an address ("请寄到上海市…" starts at 上海).
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    let place = r"[\p{Han}--[的说请寄到送在是了给和往收货地址住为我你他她电话改成发]]";
    Regex::new(&format!(
        r"(?P<admin>(?:{place}{{2,7}}?(?:省|自治区))?(?:{place}{{2,7}}?市)?(?:{place}{{1,7}}?(?:区|县|旗))?(?:{place}{{1,7}}?(?:镇|乡|街道))?)(?:{place}|[0-9A-Za-z]){{1,12}}?(?:路|街|大道|巷|弄|胡同|道)[0-9]{{1,5}}(?:号|弄)(?P<unit>(?:[0-9]{{1,4}}(?:号楼|栋|幢|座))?(?:[0-9]{{1,3}}单元)?(?:[0-9]{{1,5}}室)?)"
    ))
    .unwrap()
});

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Where a name starting at `at` ends: a surname and one or two given-name characters, not a
/// brand or an everyday word.
fn name_at(text: &str, at: usize) -> Option<usize> {
    let rest = &text[at..];
    if BRANDS.iter().any(|brand| rest.starts_with(brand)) {
        return None;
    }
    let surname = COMPOUND_SURNAMES
        .iter()
        .find(|s| rest.starts_with(*s))
        .map(|s| s.len())
        .or_else(|| {
            rest.chars()
                .next()
                .filter(|c| SURNAMES.contains(*c))
                .map(char::len_utf8)
        })?;
    let mut end = at + surname;
    let mut given = 0;
    while given < 2 {
        let after = &text[end..];
        let Some(c) = after.chars().next() else {
            break;
        };
        let ends_name = !is_han(c)
            || CHARACTERS_AFTER_NAMES.contains(c)
            || WORDS_AFTER_NAMES.iter().any(|w| after.starts_with(w));
        if ends_name {
            break;
        }
        end += c.len_utf8();
        given += 1;
    }
    let first_two: String = rest.chars().take(2).collect();
    (given > 0 && !EVERYDAY_WORDS.contains(&first_two.as_str())).then_some(end)
}

/// Whether what follows `at` ends a name: the end, anything but a Han character, or a word
/// that follows names.
fn ends_name(text: &str, at: usize) -> bool {
    let after = &text[at..];
    after.chars().next().is_none_or(|c| !is_han(c))
        || WORDS_AFTER_NAMES.iter().any(|w| after.starts_with(w))
}

/// Names in folded `text`, as `(kind, start, end)`.
pub fn find_names(text: &str, found: &mut Vec<(PiiKind, usize, usize)>) {
    let mut names: Vec<(usize, usize)> = Vec::new();
    let labelled = LABELS.iter().map(|l| (l, true));
    let weakly = WEAK_LABELS.iter().map(|l| (l, false));
    for (label, strong) in labelled.chain(weakly) {
        for (at, _) in text.match_indices(label) {
            let start = at + label.len();
            let start =
                start + (text[start..].len() - text[start..].trim_start_matches([':', ' ']).len());
            let start = start
                + ["是", "为"]
                    .iter()
                    .find(|w| text[start..].starts_with(*w))
                    .map_or(0, |w| w.len());
            if let Some(end) = name_at(text, start)
                && (strong || ends_name(text, end))
            {
                names.push((start, end));
            }
        }
    }
    for honorific in HONORIFICS {
        for (at, _) in text.match_indices(honorific) {
            if names.iter().any(|&(_, end)| end == at) {
                continue;
            }
            // The name is two to four characters right before the honorific; the longest that
            // reads as one wins ("王小明先生", not "小明先生").
            let starts: Vec<usize> = text[..at]
                .char_indices()
                .rev()
                .take(4)
                .map(|(i, _)| i)
                .collect();
            for length in (2..=4).rev() {
                let Some(&start) = starts.get(length - 1) else {
                    continue;
                };
                if name_at(text, start) != Some(at) {
                    continue;
                }
                // "谢谢王小姐", "向王先生": a character before a bare surname is no surname.
                let given: Vec<char> = text[start..at].chars().skip(1).collect();
                if length == 2 && given.iter().all(|c| SURNAMES.contains(*c)) {
                    break;
                }
                names.push((start, at));
                break;
            }
        }
    }
    found.extend(names.into_iter().map(|(s, e)| (PiiKind::PersonName, s, e)));
}

/// Postal addresses in folded `text`, as `(kind, start, end)`.
pub fn find_addresses(text: &str, found: &mut Vec<(PiiKind, usize, usize)>) {
    if !text.contains('号') && !text.contains('弄') {
        return;
    }
    for address in ADDRESS.captures_iter(text) {
        let whole = address.get(0).expect("the whole match");
        let has = |group: &str| address.name(group).is_some_and(|m| !m.is_empty());
        let before: String = {
            let chars: Vec<char> = text[..whole.start()]
                .chars()
                .rev()
                .take(ADDRESS_WORD_BEFORE + 2)
                .collect();
            chars.into_iter().rev().collect()
        };
        let announced = ADDRESS_WORDS.iter().any(|w| before.contains(w));
        if has("admin") || has("unit") || announced {
            found.push((PiiKind::PostalAddress, whole.start(), whole.end()));
        }
    }
}

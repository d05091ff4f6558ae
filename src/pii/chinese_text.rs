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

use super::kind::PiiKind;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::find_spans;

    #[test]
    fn the_surname_list_is_about_the_hundred_most_common() {
        let count = SURNAMES.chars().count();
        assert!((95..=110).contains(&count), "{count}");
        assert!(COMPOUND_SURNAMES.iter().all(|s| s.chars().count() == 2));
    }

    /// A deterministic xorshift generator: the measurement is the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// A note under construction, with the spans that truly hold a name or an address.
    #[derive(Default)]
    struct Note {
        text: String,
        truth: Vec<(PiiKind, usize, usize)>,
    }

    impl Note {
        fn push(&mut self, piece: &str) -> &mut Self {
            self.text.push_str(piece);
            self
        }

        fn push_true(&mut self, kind: PiiKind, piece: &str) -> &mut Self {
            let start = self.text.len();
            self.text.push_str(piece);
            self.truth.push((kind, start, self.text.len()));
            self
        }
    }

    const GIVEN: [&str; 40] = [
        "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
        "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "萍", "红", "鹏", "辉",
        "宇", "浩", "欣", "怡", "婷", "雪", "琳", "晨", "博", "俊",
    ];
    const PLACES: [(&str, &str, &str); 8] = [
        ("广东省", "深圳市", "南山区"),
        ("浙江省", "杭州市", "西湖区"),
        ("江苏省", "南京市", "鼓楼区"),
        ("", "上海市", "浦东新区"),
        ("", "北京市", "朝阳区"),
        ("四川省", "成都市", "武侯区"),
        ("湖北省", "武汉市", "洪山区"),
        ("山东省", "青岛市", "市南区"),
    ];
    const ROADS: [&str; 10] = [
        "张江路",
        "中山路",
        "人民路",
        "建国路",
        "解放大道",
        "科技园南路",
        "文三路",
        "长江路",
        "淮海中路",
        "天府大道",
    ];
    const BRAND_PRODUCTS: [&str; 10] = [
        "王老吉凉茶",
        "李宁运动鞋",
        "张小泉剪刀",
        "周大福金饰",
        "周黑鸭鸭脖",
        "李锦记蚝油",
        "杨国福麻辣烫券",
        "马应龙药膏",
        "王致和腐乳",
        "徐福记糖果",
    ];
    /// Label, then something that is no person: a company, a place, an everyday phrase. Some of
    /// these are found as names (a company starting with a surname after 联系人): they are the
    /// false positives the rule accepts.
    const NOT_NAMES: [&str; 16] = [
        "客户周末不在家",
        "客户马上到店",
        "客户方便时再联系",
        "会员黄金等级升级",
        "客户高兴地说谢谢",
        "客户金秋特惠已领取",
        "会员万达影城兑换券",
        "客户马克杯定制",
        "客户江小白酒缺货",
        "收件人：前台",
        "收货人：公司前台",
        "联系人：何时方便未说明",
        "姓名：未填写",
        "收件人：陈列室",
        "联系人：万科物业",
        "收货人：宋城景区售票处",
    ];

    fn name(rng: &mut Rng) -> String {
        let surname = if rng.below(10) == 0 {
            rng.pick(&COMPOUND_SURNAMES).to_string()
        } else {
            let surnames: Vec<char> = SURNAMES.chars().collect();
            surnames[rng.below(surnames.len())].to_string()
        };
        let given = if rng.below(2) == 0 {
            rng.pick(&GIVEN).to_string()
        } else {
            format!(
                "{}{}",
                rng.pick(&["小", "晓", "子", "嘉"]),
                rng.pick(&GIVEN)
            )
        };
        format!("{surname}{given}")
    }

    fn house_number(rng: &mut Rng) -> String {
        let number = (1 + rng.below(998)).to_string();
        if rng.below(5) == 0 {
            // Full-width, as some input methods type it.
            number
                .chars()
                .map(|c| char::from_u32(c as u32 + 0xfee0).unwrap())
                .collect()
        } else {
            number
        }
    }

    fn address(rng: &mut Rng, with_admin: bool) -> String {
        let (province, city, district) = PLACES[rng.below(PLACES.len())];
        let mut address = String::new();
        if with_admin {
            if rng.below(2) == 0 {
                address.push_str(province);
            }
            address.push_str(city);
            address.push_str(district);
        }
        address.push_str(rng.pick(&ROADS));
        address.push_str(&house_number(rng));
        address.push('号');
        if rng.below(2) == 0 {
            address.push_str(&format!(
                "{}栋{}单元{}室",
                1 + rng.below(20),
                1 + rng.below(4),
                101 + rng.below(1800)
            ));
        }
        address
    }

    fn note(rng: &mut Rng) -> Note {
        let mut note = Note::default();
        let honorific = rng.pick(&HONORIFICS);
        match rng.below(20) {
            0 => note
                .push("收货人：")
                .push_true(PiiKind::PersonName, &name(rng))
                .push("，电话13812345678"),
            1 => note
                .push("联系人")
                .push_true(PiiKind::PersonName, &name(rng))
                .push("要求周末送货"),
            2 => note
                .push("姓名 ")
                .push_true(PiiKind::PersonName, &name(rng)),
            3 => note
                .push("寄件人：")
                .push_true(PiiKind::PersonName, &name(rng))
                .push("，已揽收"),
            4 => note
                .push("客户")
                .push_true(PiiKind::PersonName, &name(rng))
                .push("反馈包装破损"),
            5 => note
                .push("请转告")
                .push_true(PiiKind::PersonName, &name(rng))
                .push(honorific)
                .push("明天取件"),
            6 => note
                .push_true(PiiKind::PersonName, &name(rng))
                .push(honorific)
                .push("已确认收货"),
            7 => note
                .push("客户")
                .push_true(PiiKind::PersonName, &name(rng))
                .push(honorific)
                .push("来电咨询退款"),
            8 => note
                .push("收货地址：")
                .push_true(PiiKind::PostalAddress, &address(rng, true)),
            9 => {
                let with_admin = rng.below(2) == 0;
                note.push("请寄到")
                    .push_true(PiiKind::PostalAddress, &address(rng, with_admin))
                    .push("，谢谢")
            }
            10 => note
                .push_true(PiiKind::PostalAddress, &address(rng, true))
                .push("，放门卫"),
            11 => {
                let road = rng.pick(&ROADS);
                let number = house_number(rng);
                let room = 101 + rng.below(1800);
                note.push("地址改为")
                    .push_true(PiiKind::PostalAddress, &format!("{road}{number}号{room}室"))
            }
            12 => {
                // A name with no context word: the rule misses it on purpose.
                if rng.below(4) == 0 {
                    note.push_true(PiiKind::PersonName, &name(rng))
                        .push("说快递太慢")
                } else {
                    note.push("快递太慢，客户不满意")
                }
            }
            13 => {
                let brand = rng.pick(&BRAND_PRODUCTS);
                let frame = rng.pick(&[
                    "客户购买了{}两箱",
                    "客户{}尺码偏小",
                    "收货人反馈{}有破损",
                    "顾客询问{}保质期",
                    "联系人：{}专柜",
                ]);
                note.push(&frame.replace("{}", brand))
            }
            14 => note.push(rng.pick(&NOT_NAMES)),
            15 => {
                let (_, city, district) = PLACES[rng.below(PLACES.len())];
                let bare_city = city.trim_end_matches('市');
                let frame = rng.pick(&[
                    "发往{c}",
                    "{C}仓库发货",
                    "{C}{d}门店缺货",
                    "客户来自{c}",
                    "{c}地区暂停配送",
                ]);
                note.push(
                    &frame
                        .replace("{c}", bare_city)
                        .replace("{C}", city)
                        .replace("{d}", district),
                )
            }
            16 => {
                let surname: Vec<char> = SURNAMES.chars().collect();
                let surname = surname[rng.below(surname.len())];
                let frame = rng.pick(&[
                    "谢谢{s}{h}",
                    "联系人：{s}{h}",
                    "已通知{s}{h}",
                    "请{s}{h}回电",
                ]);
                note.push(
                    &frame
                        .replace("{s}", &surname.to_string())
                        .replace("{h}", honorific),
                )
            }
            17 => {
                let number = house_number(rng);
                let frame = rng.pick(&[
                    "订单{n}号已发货",
                    "中山路{n}号店周年庆",
                    "第{n}号仓库盘点",
                    "型号 E1234{n} 蓝色",
                ]);
                note.push(&frame.replace("{n}", &number))
            }
            18 => note
                .push("客户")
                .push_true(PiiKind::PersonName, &name(rng))
                .push("，收货地址：")
                .push_true(PiiKind::PostalAddress, &address(rng, true)),
            _ => note.push("物流显示已签收，客户未评价"),
        };
        note
    }

    /// Precision and recall of the name and address recognizers on generated notes. The notes
    /// come from the same hand as the rules, so these numbers show the rules hold on these
    /// shapes (brands, cities alone, companies after a label, surnames alone), not how they
    /// fare on a real shop's notes.
    #[test]
    fn names_and_addresses_are_found_precisely_in_generated_notes() {
        let mut rng = Rng(0x5eed_2026);
        let mut counts: std::collections::BTreeMap<PiiKind, [u32; 4]> = Default::default();
        for _ in 0..2000 {
            let note = note(&mut rng);
            let found: Vec<_> = find_spans(&note.text)
                .into_iter()
                .filter(|s| matches!(s.kind, PiiKind::PersonName | PiiKind::PostalAddress))
                .collect();
            for span in &found {
                let entry = counts.entry(span.kind).or_default();
                let true_positive = note
                    .truth
                    .iter()
                    .any(|&(kind, start, end)| kind == span.kind && span.overlaps(start, end));
                entry[if true_positive { 0 } else { 1 }] += 1;
            }
            for &(kind, start, end) in &note.truth {
                let entry = counts.entry(kind).or_default();
                let recalled = found
                    .iter()
                    .any(|s| s.kind == kind && s.overlaps(start, end));
                entry[if recalled { 2 } else { 3 }] += 1;
            }
        }
        for (kind, [true_positives, false_positives, recalled, missed]) in counts {
            let precision = f64::from(true_positives) / f64::from(true_positives + false_positives);
            let recall = f64::from(recalled) / f64::from(recalled + missed);
            assert!(
                precision >= 0.95 && recall >= 0.9,
                "{}: precision {precision:.3} ({true_positives} of {}), recall {recall:.3} ({recalled} of {})",
                kind.name(),
                true_positives + false_positives,
                recalled + missed
            );
        }
    }
}

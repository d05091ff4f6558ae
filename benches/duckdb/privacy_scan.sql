-- Phase `privacy_scan`: identifiers in undeclared columns (privacy.undeclared-pii).
--
-- What fairmark does (src/checks/privacy/undeclared_pii.rs; the recognizers in src/pii/): for
-- each of the four datasets, the columns that can hold identifiers (text, and 64-bit integers),
-- first over a sample of 50,000 rows spread over the whole dataset (every k-th row by a hash of
-- the row number, read from the files), then, for the columns where anything was found, over
-- every row. Each pass is one aggregate: per column, its non-null cells and, per kind, the
-- cells whose `fm_pii_mask` has that kind's bit. fm_pii_mask folds the text (full-width digits,
-- Unicode spaces and dashes) and runs twelve recognizers: e-mail, mainland mobile, resident ID
-- (GB 11643 checksum and date), bank card (Luhn), IPv4/IPv6 (parsed), international phone,
-- permanent-resident ID (checksum), passport and travel permits (a context word within 10
-- characters, or the whole value's shape), landline (area-code rules), Chinese person names
-- (labels, honorifics, a surname list, brand and everyday-word exclusions) and postal addresses.
--
-- What this does: the same two passes and the same aggregate shape, with `fm_pii_mask` written
-- as a DuckDB macro of regexp_matches, one pattern per kind (bit values as fairmark's). The
-- sample is DuckDB's reservoir sample of 50,000 rows (the whole file is read, as fairmark's is).
-- The choice of columns for the second pass is the same rule (any kind found; shape-only
-- document numbers only in a column named for documents). Prerequisite, untimed: the row count
-- of each dataset (fairmark has it from registration). Timed: both passes over all datasets.
-- rows = cells read by the second pass (rows x columns rescanned).
--
-- Where it differs (the counts are approximate, the work is comparable, not identical):
--   * no text folding (full-width digits are not read as digits);
--   * resident and permanent-resident IDs: shape and date only, no check character;
--   * bank cards: 16-19 digits not also a resident ID, no Luhn check; this over-counts;
--   * IPv6: a regex for 3 to 8 hex groups, not a parser;
--   * digit runs are matched by regex boundaries instead of fairmark's run splitting, so
--     grouped numbers ("138 0013 8000") are read only in the forms the patterns list;
--   * passports/permits: a context word anywhere up to 10 characters before, not the exact
--     window rules; names: a label or honorific next to surname + 1-2 Han characters, without
--     the brand and everyday-word exclusions; addresses: a simplified pattern (RE2 has no
--     character-class subtraction).
--
-- Placeholders: {{select}}, {{masks}}, {{from}} (count_matches); {{columns}}, {{table}},
-- {{sample_rows}} (sample).

-- @section macros
CREATE OR REPLACE MACRO fm_pii_email(v) AS
    regexp_matches(v, '[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}');
CREATE OR REPLACE MACRO fm_pii_mobile(v) AS
    regexp_matches(v, '(^|[^0-9A-Za-z+])(\+?(00)?86[ -]?)?1[3-9][0-9]([ -]?[0-9]){8}($|[^0-9A-Za-z])');
CREATE OR REPLACE MACRO fm_pii_resident_id(v) AS
    regexp_matches(v, '(^|[^0-9A-Za-z])([1-8][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]|[1-8][0-9]{5}[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3})($|[^0-9A-Za-z])');
CREATE OR REPLACE MACRO fm_pii_bank_card(v) AS
    regexp_matches(v, '(^|[^0-9A-Za-z])[0-9]{16,19}($|[^0-9A-Za-z])') AND NOT fm_pii_resident_id(v);
CREATE OR REPLACE MACRO fm_pii_ip(v) AS
    regexp_matches(v, '\b(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\b')
    OR regexp_matches(v, '(^|[^0-9A-Za-z:])([0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}($|[^0-9A-Za-z:])');
CREATE OR REPLACE MACRO fm_pii_international(v) AS
    regexp_matches(v, '\+([0-79]|8[0-57-9])[0-9 ()-]{8,17}[0-9]');
CREATE OR REPLACE MACRO fm_pii_permanent_id(v) AS
    regexp_matches(v, '(^|[^0-9A-Za-z])9[1-8][0-9]{4}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]($|[^0-9A-Za-z])');
CREATE OR REPLACE MACRO fm_pii_passport(v) AS
    regexp_matches(v, '(?i)(护照|passport|证件|travel document).{0,10}\b(E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8})\b');
CREATE OR REPLACE MACRO fm_pii_permit(v) AS
    regexp_matches(v, '(?i)(通行证|回乡证|台胞证|permit|港澳证|旅行证|台湾居民).{0,10}\b(C[0-9]{8}|C[A-HJ-NP-Z][0-9]{7}|[HM][0-9]{8}|[HM][0-9]{10}|[0-9]{8})\b');
CREATE OR REPLACE MACRO fm_pii_landline(v) AS
    regexp_matches(v, '(^|[^0-9A-Za-z])(\+?(00)?86[ -]?)?0?(10|2[0-9])[ -]?[2-9][0-9]{7}($|[^0-9A-Za-z])')
    OR regexp_matches(v, '(^|[^0-9A-Za-z])0[3-9][0-9]{2}[ -]?[2-9][0-9]{6,7}($|[^0-9A-Za-z])');
CREATE OR REPLACE MACRO fm_pii_name(v) AS
    regexp_matches(v, '(姓名|联系人|收件人|收货人|寄件人|持卡人|户名|入住人|乘机人|客户|顾客|用户|会员|买家)[: ：]*[是为]?(欧阳|司马|诸葛|上官|东方|皇甫|尉迟|公孙|慕容|令狐|夏侯|长孙|宇文|司徒|端木|轩辕|独孤|南宫|西门|呼延|[王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖施洪])\p{Han}{1,2}')
    OR regexp_matches(v, '[王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖施洪]\p{Han}{1,2}(先生|女士|小姐)');
CREATE OR REPLACE MACRO fm_pii_address(v) AS
    regexp_matches(v, '\p{Han}{1,12}(路|街|大道|巷|弄|胡同|道)[0-9]{1,5}(号|弄)');
-- The whole value is a document number's shape (upper 16 bits: passport 128 << 16, permit 256 << 16).
CREATE OR REPLACE MACRO fm_pii_shape(v) AS
    CASE WHEN regexp_full_match(upper(trim(v)), 'E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8}') THEN 8388608
         WHEN regexp_full_match(upper(trim(v)), 'C[0-9]{8}|C[A-HJ-NP-Z][0-9]{7}|[HM][0-9]{8}|[HM][0-9]{10}') THEN 16777216
         ELSE 0 END;
CREATE OR REPLACE MACRO fm_pii_mask(v) AS
    CASE WHEN v IS NULL THEN 0 ELSE
        (CASE WHEN fm_pii_email(v) THEN 1 ELSE 0 END)
        | (CASE WHEN fm_pii_mobile(v) THEN 2 ELSE 0 END)
        | (CASE WHEN fm_pii_resident_id(v) THEN 4 ELSE 0 END)
        | (CASE WHEN fm_pii_bank_card(v) THEN 8 ELSE 0 END)
        | (CASE WHEN fm_pii_ip(v) THEN 16 ELSE 0 END)
        | (CASE WHEN fm_pii_international(v) THEN 32 ELSE 0 END)
        | (CASE WHEN fm_pii_permanent_id(v) THEN 64 ELSE 0 END)
        | (CASE WHEN fm_pii_passport(v) THEN 128 ELSE 0 END)
        | (CASE WHEN fm_pii_permit(v) THEN 256 ELSE 0 END)
        | (CASE WHEN fm_pii_landline(v) THEN 512 ELSE 0 END)
        | (CASE WHEN fm_pii_name(v) THEN 1024 ELSE 0 END)
        | (CASE WHEN fm_pii_address(v) THEN 2048 ELSE 0 END)
        | fm_pii_shape(v)
    END;

-- @section sample
CREATE OR REPLACE TEMP TABLE {{table}} AS
SELECT {{columns}} FROM {{from}} USING SAMPLE reservoir({{sample_rows}} ROWS);

-- @section count_matches
SELECT {{select}} FROM (SELECT {{masks}} FROM {{from}});

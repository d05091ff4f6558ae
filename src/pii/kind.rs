//! The kinds of identifier the scanner recognizes ([`PiiKind`]): their bits in a mask and
//! their stable names. The recognizers of each language import them from here.

/// One kind of identifier the scanner recognizes. The discriminant is its bit in a mask; the
/// names are stable, since findings and their evidence keys carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    Email = 1,
    CnMobile = 2,
    /// 18 digits with the GB 11643 check character, or the 15-digit numbers issued before.
    CnResidentId = 4,
    BankCard = 8,
    /// IPv4 or IPv6.
    IpAddress = 16,
    /// An international number written with its `+` country code (E.164: at most 15 digits).
    InternationalPhone = 32,
    /// The 2023 foreigner's permanent residence ID card number.
    CnPermanentResidentId = 64,
    Passport = 128,
    /// Permits for travel between the mainland and Hong Kong, Macau or Taiwan.
    TravelPermit = 256,
    CnLandline = 512,
    PersonName = 1024,
    PostalAddress = 2048,
}

impl PiiKind {
    pub const ALL: [PiiKind; 12] = [
        PiiKind::Email,
        PiiKind::CnMobile,
        PiiKind::CnResidentId,
        PiiKind::BankCard,
        PiiKind::IpAddress,
        PiiKind::InternationalPhone,
        PiiKind::CnPermanentResidentId,
        PiiKind::Passport,
        PiiKind::TravelPermit,
        PiiKind::CnLandline,
        PiiKind::PersonName,
        PiiKind::PostalAddress,
    ];

    /// The kinds a value can have by shape alone, without a context word: a column named for
    /// them ([`names_documents`]) where most values have the shape holds them (see
    /// [`scan_mask`]).
    pub const SHAPE_ONLY: [PiiKind; 2] = [PiiKind::Passport, PiiKind::TravelPermit];

    pub fn bit(self) -> u16 {
        self as u16
    }

    /// Its bit in the upper half of a [`scan_mask`]: the whole value has this kind's shape.
    pub fn shape_only_bit(self) -> u32 {
        u32::from(self.bit()) << 16
    }

    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::CnMobile => "cn-mobile",
            PiiKind::CnResidentId => "cn-resident-id",
            PiiKind::BankCard => "bank-card",
            PiiKind::IpAddress => "ip-address",
            PiiKind::InternationalPhone => "phone",
            PiiKind::CnPermanentResidentId => "cn-permanent-resident-id",
            PiiKind::Passport => "passport",
            PiiKind::TravelPermit => "travel-permit",
            PiiKind::CnLandline => "cn-landline",
            PiiKind::PersonName => "person-name",
            PiiKind::PostalAddress => "postal-address",
        }
    }
}

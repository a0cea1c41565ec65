//! Every checksum and format parser, and the dispatcher, on arbitrary text: no panic, and
//! the dispatcher's fast path agrees with the full one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use silkgate_scan::detect::{
    by, card, cn, date, detect, detect_in, email, gender, iban, india, ir, kg, kz, name, phone, pk,
    ru, tj, uz,
};
use silkgate_scan::{Entity, EntitySet};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();
    let _ = (
        cn::resident_id_18(s),
        cn::resident_id_15(s),
        cn::uscc(s),
        cn::resident_id_birth_date(s),
    );
    let _ = (kz::iin(s), kz::bin(s), kz::iin_birth_date(s));
    let _ = (
        ru::inn(s),
        ru::snils(s),
        ru::ogrn(s),
        ru::passport_formatted(s),
    );
    let _ = (
        india::aadhaar(s),
        india::pan(s),
        pk::cnic(s),
        pk::cnic_formatted(s),
    );
    let _ = (
        uz::pinfl(s),
        kg::pin(s),
        tj::tj_id(s),
        ir::national_code(s),
        ir::pad(s),
    );
    let _ = (
        by::personal_number(s),
        by::unp(s),
        card::card(s),
        card::scheme(s),
        iban::iban(s),
    );
    let _ = (
        phone::phone(s),
        email::email(s),
        date::date(s),
        gender::gender(s),
        name::name(s),
    );
    let all = detect(s);
    for &e in Entity::ALL {
        let one = detect_in(s, EntitySet::only(e));
        assert_eq!(one.strong.contains(e), all.strong.contains(e), "{e}");
        assert_eq!(one.weak.contains(e), all.weak.contains(e), "{e}");
    }
});

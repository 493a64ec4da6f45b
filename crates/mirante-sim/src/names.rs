//! Believable Brazilian customers: pt-BR names (first names and surnames combined, now and
//! then a second first name and a `de`/`da`/`dos` particle, e.g. `Maria Luiza de Souza Reis`),
//! mobile numbers (`55` + a real DDD area code + `9` + eight digits, the first 6–9) and the
//! identifiers each channel gives.

use crate::dist::{SimRng, chance, index, pick};
use mirante_core::ChannelKind;

/// Common Brazilian first names.
pub const FIRST_NAMES: &[&str] = &[
    "Maria",
    "Ana",
    "Francisca",
    "Antônia",
    "Adriana",
    "Juliana",
    "Márcia",
    "Fernanda",
    "Patrícia",
    "Aline",
    "Sandra",
    "Camila",
    "Amanda",
    "Bruna",
    "Jéssica",
    "Letícia",
    "Júlia",
    "Luciana",
    "Vanessa",
    "Mariana",
    "Gabriela",
    "Beatriz",
    "Larissa",
    "Raquel",
    "Helena",
    "Alice",
    "Laura",
    "Valentina",
    "Sophia",
    "Isabela",
    "José",
    "João",
    "Antônio",
    "Francisco",
    "Carlos",
    "Paulo",
    "Pedro",
    "Lucas",
    "Luiz",
    "Marcos",
    "Luís",
    "Gabriel",
    "Rafael",
    "Daniel",
    "Marcelo",
    "Bruno",
    "Eduardo",
    "Felipe",
    "Raimundo",
    "Rodrigo",
    "Thiago",
    "Gustavo",
    "Matheus",
    "Leonardo",
    "Miguel",
    "Arthur",
    "Heitor",
    "Bernardo",
    "Davi",
    "Vinícius",
    "Caio",
    "Renato",
    "Sérgio",
    "Fábio",
    "André",
];

/// Second names that follow a first name (`Maria Luiza`, `João Pedro`).
pub const SECOND_NAMES: &[&str] = &[
    "Luiza", "Eduarda", "Clara", "Fernanda", "Cecília", "Vitória", "Pedro", "Paulo", "Carlos",
    "Vitor", "Gabriel", "Henrique", "Miguel", "Lucas",
];

/// Common Brazilian surnames.
pub const SURNAMES: &[&str] = &[
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
    "Cardoso",
    "Ramos",
    "Gonçalves",
    "Santana",
    "Teixeira",
    "Araújo",
    "Reis",
    "Moura",
    "Cavalcanti",
    "Monteiro",
    "Castro",
    "Campos",
    "Pinto",
    "Correia",
    "Batista",
    "Cunha",
    "Azevedo",
    "Nogueira",
    "Barros",
    "Melo",
];

/// Particles between names.
const PARTICLES: &[&str] = &["de", "da", "dos", "das", "do"];

/// Real DDD area codes (every state).
pub const AREA_CODES: &[u8] = &[
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38, 41, 42, 43,
    44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 73, 74, 75, 77,
    79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99,
];

/// Area codes weighted by population: São Paulo and Rio come up more often.
const BIG_CITIES: &[u8] = &[11, 11, 11, 21, 21, 31, 41, 51, 61, 71, 81, 85];

/// A full name such as `Maria Luiza de Souza Reis`.
pub fn full_name(rng: &mut SimRng) -> String {
    let mut parts: Vec<&str> = Vec::with_capacity(5);
    parts.push(pick(rng, FIRST_NAMES).copied().unwrap_or("Maria"));
    if chance(rng, 0.2) {
        parts.push(pick(rng, SECOND_NAMES).copied().unwrap_or("Clara"));
    }
    if chance(rng, 0.35) {
        parts.push(pick(rng, PARTICLES).copied().unwrap_or("de"));
    }
    parts.push(pick(rng, SURNAMES).copied().unwrap_or("Silva"));
    if chance(rng, 0.45) {
        parts.push(pick(rng, SURNAMES).copied().unwrap_or("Santos"));
    }
    parts.join(" ")
}

/// A Brazilian mobile number, digits only: `55` + DDD + `9` + eight digits.
pub fn mobile_number(rng: &mut SimRng) -> String {
    let ddd = if chance(rng, 0.5) {
        pick(rng, BIG_CITIES).copied().unwrap_or(11)
    } else {
        pick(rng, AREA_CODES).copied().unwrap_or(11)
    };
    let first = 6 + index(rng, 4);
    let rest: String = (0..7).map(|_| char::from(b'0' + digit(rng))).collect();
    format!("55{ddd:02}9{first}{rest}")
}

/// A CPF-shaped number with valid check digits, formatted `123.456.789-09`.
pub fn cpf(rng: &mut SimRng) -> String {
    let mut d: Vec<u32> = (0..9).map(|_| u32::from(digit(rng))).collect();
    for len in [9_usize, 10] {
        let sum: u32 = d
            .iter()
            .enumerate()
            .map(|(i, x)| x * (len as u32 + 1 - i as u32))
            .sum();
        let r = (sum * 10) % 11;
        d.push(if r == 10 { 0 } else { r });
    }
    let s: String = d.iter().filter_map(|x| char::from_digit(*x, 10)).collect();
    format!("{}.{}.{}-{}", &s[0..3], &s[3..6], &s[6..9], &s[9..11])
}

/// The identifier a channel gives for a customer: the phone number on WhatsApp (and SMS), a
/// numeric chat id on Telegram, an e-mail typed in the web chat form (and e-mail).
pub fn identifier(rng: &mut SimRng, kind: ChannelKind, name: &str) -> String {
    match kind {
        ChannelKind::Whatsapp | ChannelKind::Sms => mobile_number(rng),
        ChannelKind::Telegram => {
            let first = 1 + index(rng, 7);
            let rest: String = (0..9).map(|_| char::from(b'0' + digit(rng))).collect();
            format!("{first}{rest}")
        }
        _ => {
            let mut words = name.split_whitespace();
            let first = words.next().unwrap_or("cliente");
            let last = words.last().unwrap_or("mirante");
            format!(
                "{}.{}{}@exemplo.com.br",
                ascii_lower(first),
                ascii_lower(last),
                10 + index(rng, 90)
            )
        }
    }
}

/// Lower case without accents, for e-mail addresses.
pub fn ascii_lower(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

fn digit(rng: &mut SimRng) -> u8 {
    // index() < 10 always fits a digit.
    u8::try_from(index(rng, 10)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::rng_from_seed;

    #[test]
    fn numbers_are_brazilian_mobiles() {
        let mut rng = rng_from_seed(1);
        for _ in 0..1000 {
            let n = mobile_number(&mut rng);
            assert_eq!(n.len(), 13, "{n}");
            assert!(n.starts_with("55"));
            let ddd: u8 = n[2..4].parse().unwrap();
            assert!(AREA_CODES.contains(&ddd));
            assert_eq!(&n[4..5], "9");
            assert!(n.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn cpf_check_digits_are_valid() {
        let mut rng = rng_from_seed(2);
        let c = cpf(&mut rng);
        let d: Vec<u32> = c.chars().filter_map(|c| c.to_digit(10)).collect();
        assert_eq!(d.len(), 11);
        let check = |len: usize| {
            let s: u32 = (0..len).map(|i| d[i] * (len as u32 + 1 - i as u32)).sum();
            let r = (s * 10) % 11;
            if r == 10 { 0 } else { r }
        };
        assert_eq!(check(9), d[9]);
        assert_eq!(check(10), d[10]);
    }

    #[test]
    fn names_have_a_first_name_and_a_surname() {
        let mut rng = rng_from_seed(3);
        for _ in 0..100 {
            let n = full_name(&mut rng);
            assert!(n.split_whitespace().count() >= 2, "{n}");
        }
        assert_eq!(ascii_lower("Gonçalves"), "goncalves");
    }
}

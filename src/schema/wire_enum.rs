//! [`wire_enum!`]: a fieldless enum that travels as its name.
//!
//! Guarantees: the enum serializes as exactly its name string in every
//! format (JSON, Avro, postcard), so a field that was a `String` keeps its
//! bytes when it becomes such an enum; deserializing accepts exactly those
//! names (an Avro enum symbol too) and rejects anything else, naming the
//! expected ones.

/// Declares a fieldless enum with `as_str`, `from_name`, `ALL`, `Display`
/// and string serde: `wire_enum! { /// doc  pub enum Name { /// doc  A = "a", } }`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name on the wire and in audit records.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The value with this exact name.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with a name, as the string field it replaces did.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Name;
                impl ::serde::de::Visitor<'_> for Name {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " name"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::from_name(v)
                            .ok_or_else(|| E::unknown_variant(v, &[$($wire),+]))
                    }
                }
                // `deserialize_string`: the Avro reader hands enum symbols
                // only to it, not to `deserialize_str`.
                d.deserialize_string(Name)
            }
        }
    };
}

pub(crate) use wire_enum;

#[cfg(test)]
mod tests {
    wire_enum! {
        /// A test enum.
        enum Colour {
            /// Red.
            Red = "red",
            /// Light blue.
            LightBlue = "light-blue",
        }
    }

    #[test]
    fn travels_as_its_name() -> Result<(), Box<dyn std::error::Error>> {
        for c in Colour::ALL {
            assert_eq!(Colour::from_name(c.as_str()), Some(*c));
            let json = serde_json::to_string(c)?;
            assert_eq!(json, format!("\"{c}\""));
            assert_eq!(serde_json::from_str::<Colour>(&json)?, *c);
            // The same bytes as the name as a `String`.
            let bytes = postcard::to_allocvec(c)?;
            assert_eq!(bytes, postcard::to_allocvec(&c.as_str().to_string())?);
            assert_eq!(postcard::from_bytes::<Colour>(&bytes)?, *c);
        }
        let err = serde_json::from_str::<Colour>("\"blue\"")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("light-blue")));
        Ok(())
    }
}

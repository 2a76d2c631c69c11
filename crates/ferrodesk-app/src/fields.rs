//! Custom ticket fields (admins define them; tickets carry values in `custom_fields`).

use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::validate::{self, FieldError, Problems};
use ferrodesk_store::tickets::{self as store, CustomField};

use crate::directory::commit;
use crate::dto::{FieldIn, FieldOut};
use crate::{Actor, App, AppError, Principal, Result};

fn out(f: CustomField) -> FieldOut {
    FieldOut {
        id: f.id,
        key: f.key,
        title: f.title,
        field_type: f.field_type,
        options: f.options,
        active: f.active,
        position: f.position,
    }
}

impl App {
    /// Every custom field (agents and admins).
    pub async fn list_fields(&self, p: &Principal) -> Result<Vec<FieldOut>> {
        p.require_staff()?;
        let mut c = self.store().read().await?;
        Ok(store::custom_fields(&mut c)
            .await?
            .into_iter()
            .map(out)
            .collect())
    }

    /// Defines a custom field (admins).
    pub async fn create_field(&self, p: &Principal, input: FieldIn) -> Result<FieldOut> {
        p.require_admin()?;
        let mut problems = Problems::default();
        let key_ok = input.key.len() <= 40
            && input
                .key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
            && input
                .key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            problems.push(FieldError::new(
                "key",
                "invalid_key",
                "key is 1 to 40 lowercase letters, digits or _, starting with a letter",
            ));
        }
        let title = problems.check(validate::name("title", &input.title, 100));
        if !["text", "number", "checkbox", "dropdown", "date"].contains(&input.field_type.as_str())
        {
            problems.push(FieldError::new(
                "field_type",
                "invalid_value",
                "field_type is one of text, number, checkbox, dropdown, date",
            ));
        }
        let mut options = Vec::new();
        for (i, o) in input.options.iter().enumerate() {
            if let Some(o) = problems.check(validate::name(&format!("options[{i}]"), o, 100)) {
                options.push(o);
            }
        }
        if input.field_type == "dropdown" && options.is_empty() {
            problems.push(FieldError::new(
                "options",
                "required",
                "a dropdown needs options",
            ));
        }
        problems.finish().map_err(AppError::Invalid)?;
        let mut tx = self.store().begin().await?;
        let position = store::custom_fields(&mut tx).await?.len() as i64 + 1;
        let mut f = CustomField {
            id: 0,
            key: input.key,
            title: title.unwrap_or_default(),
            field_type: input.field_type,
            options,
            active: true,
            position,
        };
        f.id = store::insert_custom_field(&mut tx, &f, self.now()).await?;
        self.audit(
            &mut tx,
            Actor::from(p),
            ("custom_field", f.id),
            "created",
            vec![
                FieldChange::new("key", (), &f.key),
                FieldChange::new("field_type", (), &f.field_type),
            ],
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(out(f))
    }
}

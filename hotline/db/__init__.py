"""The hotline's database: models, sessions, one data-access module per aggregate."""

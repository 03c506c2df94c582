using System.Text.RegularExpressions;
using ApiPlatform.Gateway.Json;

namespace ApiPlatform.Gateway.Identity;

/// <summary>Field rules for accounts, shared by registration, profile updates and bootstrap.</summary>
public static partial class Validation
{
    public const int PasswordMinLength = 8;
    // PBKDF2 cost grows with input; a cap keeps a huge password from being a cheap denial of service.
    public const int PasswordMaxLength = 128;

    [GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{1,30})[A-Za-z0-9]\z")]
    private static partial Regex UsernamePattern();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+\z")]
    private static partial Regex EmailPattern();

    public static string? Email(BodyReader body, string name = "email")
    {
        var email = body.String(name, required: true, maxLength: 254);
        if (email is not null && !EmailPattern().IsMatch(email))
        {
            body.AddError(name, "must be an email address");
            return null;
        }

        return email;
    }

    public static string? Username(BodyReader body, bool required)
    {
        var username = body.String("username", required);
        if (username is not null && !UsernamePattern().IsMatch(username))
        {
            body.AddError("username", "must be 3-32 characters of letters, digits, '.', '_' or '-', starting and ending with a letter or digit");
            return null;
        }

        return username;
    }

    public static string? Password(BodyReader body, string name = "password")
    {
        var password = body.String(name, required: true, trim: false, maxLength: PasswordMaxLength);
        if (password is not null && password.Length < PasswordMinLength)
        {
            body.AddError(name, $"must be at least {PasswordMinLength} characters");
            return null;
        }

        return password;
    }

    public static string? HttpUrl(BodyReader body, string name)
    {
        var url = body.String(name, maxLength: 2048);
        if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)))
        {
            body.AddError(name, "must be an absolute http or https URL");
            return null;
        }

        return url;
    }

    /// <summary>
    /// A plan named in a body (lower-cased), which must be configured; null when absent. <paramref name="nullable"/>
    /// false: an explicit null is an error (a PATCH cannot unset a plan).
    /// </summary>
    public static string? Plan(BodyReader body, PlanOptions plans, bool nullable = true)
    {
        var plan = body.String("plan", required: !nullable && body.Has("plan"))?.ToLowerInvariant();
        if (plan is not null && !plans.Exists(plan))
        {
            body.AddError("plan", $"must be one of: {string.Join(", ", plans.Catalog.Keys)}");
            return null;
        }

        return plan;
    }

    public static bool IsUsername(string value) => UsernamePattern().IsMatch(value);

    public static bool IsEmail(string value) => value.Length <= 254 && EmailPattern().IsMatch(value);
}

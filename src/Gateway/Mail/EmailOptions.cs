using Microsoft.Extensions.Options;
using MimeKit;

namespace ApiPlatform.Gateway.Mail;

/// <summary>SMTP server settings (configuration section <c>Email:Smtp</c>, a part of <see cref="EmailOptions"/>, checked with it).</summary>
public sealed class SmtpOptions
{
    /// <summary>The SMTP server; unset: mail is written as <c>.eml</c> files to <see cref="EmailOptions.PickupDirectory"/>.</summary>
    public string? Host { get; set; }

    public int Port { get; set; } = 587;

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>
    /// True: TLS is required (implicit TLS on port 465, STARTTLS otherwise). False: plain SMTP (a local relay, tests).
    /// </summary>
    public bool UseTls { get; set; } = true;
}

/// <summary>Account mail: verification, password reset, invitations (configuration section <c>Email</c>).</summary>
public sealed class EmailOptions
{
    public const string Section = "Email";

    /// <summary>The sender, e.g. <c>API Platform &lt;no-reply@example.com&gt;</c>.</summary>
    public string From { get; set; } = "API Platform <no-reply@localhost>";

    /// <summary>Where the links in mails point: the page (of your app) that takes the token and calls the API.</summary>
    public string LinkBaseUrl { get; set; } = "http://localhost:5000";

    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>
    /// Password-reset and verification requests per email address per hour (whether or not an account has it);
    /// past it they are refused with 429, so nobody can flood a mailbox through the API.
    /// </summary>
    public int MaxRequestsPerAddressPerHour { get; set; } = 5;

    /// <summary>
    /// Where mail goes without an SMTP host: one <c>.eml</c> file per message. The host sets it to
    /// <c>Storage:DataDirectory/mail</c>.
    /// </summary>
    public string PickupDirectory { get; set; } = "./data/mail";

    /// <summary>Null when the settings are usable; otherwise what is wrong.</summary>
    public static string? Problem(EmailOptions o) =>
        !MailboxAddress.TryParse(o.From, out _) ? "Email:From must be a mail address such as 'API Platform <no-reply@example.com>'."
        : !Uri.TryCreate(o.LinkBaseUrl, UriKind.Absolute, out var link) || (link.Scheme != Uri.UriSchemeHttp && link.Scheme != Uri.UriSchemeHttps)
            ? "Email:LinkBaseUrl must be an absolute http or https URL."
        : o.Smtp.Port is < 1 or > 65535 ? "Email:Smtp:Port must be between 1 and 65535."
        : o.MaxRequestsPerAddressPerHour < 1 ? "Email:MaxRequestsPerAddressPerHour must be at least 1."
        : string.IsNullOrWhiteSpace(o.Smtp.Host) && string.IsNullOrWhiteSpace(o.PickupDirectory) ? "Email:PickupDirectory is needed without an SMTP host."
        : null;

    /// <summary>A link to <paramref name="path"/> carrying the token.</summary>
    public string Link(string path, string token) => LinkBaseUrl.TrimEnd('/') + path + "?token=" + Uri.EscapeDataString(token);
}

/// <summary>Checks <see cref="EmailOptions"/> at start-up.</summary>
public sealed class EmailOptionsValidator : IValidateOptions<EmailOptions>
{
    public ValidateOptionsResult Validate(string? name, EmailOptions o) =>
        EmailOptions.Problem(o) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}

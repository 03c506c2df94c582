using ApiPlatform.Gateway.Mail;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Organizations;

namespace ApiPlatform.UnitTests;

public sealed class AccountTokenFormatTests
{
    [Fact]
    public void An_invitation_token_names_its_organization_and_invitation()
    {
        var org = Ids.New(Ids.Organization);
        var invitation = Ids.New(Ids.Invitation);
        var token = InvitationTokens.Create(org, invitation, Ids.RandomToken(43));

        Assert.True(InvitationTokens.TryParse(token, out var parsedOrg, out var parsedInvitation, out var secret));
        Assert.Equal(org, parsedOrg);
        Assert.Equal(invitation, parsedInvitation);
        Assert.Equal(43, secret.Length);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ivt_junk")]
    [InlineData("ivt_AAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAA_short")]
    [InlineData("xyz_AAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAA_secretsecretsecretsecret")]
    [InlineData("ivt_AAAA_AAAAAAAAAAAAAAAAAAAAAA_secretsecretsecretsecret")]
    [InlineData("ivt_AAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAA_secret_with_more_parts")]
    public void Malformed_invitation_tokens_are_refused(string? token) =>
        Assert.False(InvitationTokens.TryParse(token, out _, out _, out _));

    [Theory]
    [InlineData("pr_AAAAAAAAAAAAAAAAAAAAAA_0123456789012345678901234567890123456789012", "pr", true)]
    [InlineData("pr_AAAAAAAAAAAAAAAAAAAAAA_0123456789012345678901234567890123456789012", "ev", false)]
    [InlineData("ev_AAAA_0123456789012345678901234567890123456789012", "ev", false)]
    [InlineData("ev_AAAAAAAAAAAAAAAAAAAAAA_short", "ev", false)]
    [InlineData("ev_AAAAAAAAAAAAAAAAAAAAAA", "ev", false)]
    [InlineData(null, "ev", false)]
    public void Mail_tokens_parse_only_as_their_own_kind(string? token, string kind, bool valid) =>
        Assert.Equal(valid, AccountTokens.TryParse(token, kind, out _, out _));

    [Fact]
    public void Email_settings_are_checked()
    {
        Assert.Null(EmailOptions.Problem(new EmailOptions()));
        Assert.NotNull(EmailOptions.Problem(new EmailOptions { From = "not an address" }));
        Assert.NotNull(EmailOptions.Problem(new EmailOptions { LinkBaseUrl = "ftp://example.com" }));
        Assert.NotNull(EmailOptions.Problem(new EmailOptions { Smtp = new SmtpOptions { Host = "smtp.example.com", Port = 0 } }));
        Assert.NotNull(EmailOptions.Problem(new EmailOptions { MaxRequestsPerAddressPerHour = 0 }));
        Assert.Equal("https://app.example.com/verify-email?token=a%2Bb", new EmailOptions { LinkBaseUrl = "https://app.example.com/" }.Link("/verify-email", "a+b"));
    }
}

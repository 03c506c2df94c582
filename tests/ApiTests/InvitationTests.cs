using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using static ApiPlatform.ApiTests.Infrastructure.AccountHelpers;

namespace ApiPlatform.ApiTests;

/// <summary>Inviting by email: who may invite, the mail and its token, acceptance by the verified invitee only.</summary>
public abstract class InvitationTests(ApiServer server) : ApiTestBase(server)
{
    private static TestMailServer Mail => TestMailServer.Shared;

    /// <summary>A registered user whose email is verified through the mail's link.</summary>
    private async Task<TestUser> VerifiedUserAsync()
    {
        var user = await Client.RegisterAsync("invitee");
        var token = TestMailServer.TokenOf(await Mail.WaitForAsync(user.Email), "/verify-email");
        (await Client.PostAsync("/v1/auth/verify-email", new { token })).AssertStatus(HttpStatusCode.NoContent);
        return user;
    }

    private async Task<string> InvitationTokenAsync(string email, int count = 1) =>
        TestMailServer.TokenOf(await Mail.WaitForAsync(email, count), "/invitations/accept");

    [Fact]
    public async Task An_invited_user_with_the_verified_email_accepts_and_becomes_a_member_with_the_role()
    {
        var owner = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(owner);
        var invitee = await VerifiedUserAsync();

        var created = (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = invitee.Email.ToUpperInvariant(), role = "admin" }, owner.Token))
            .AssertStatus(HttpStatusCode.Created);
        var id = (string)created.Data["id"]!;
        Assert.StartsWith("inv_", id);
        Assert.Equal($"/v1/organizations/{org}/invitations/{id}", created.Header("Location"));
        Assert.Equal("pending", (string?)created.Data["status"]);
        Assert.Equal("admin", (string?)created.Data["role"]);
        Assert.Equal(owner.Id, (string?)created.Data["invited_by"]);
        Assert.Null(created.Data["token"]);

        var mail = await Mail.WaitForAsync(invitee.Email.ToUpperInvariant(), 2);
        Assert.Contains("Org ", mail.Subject);
        var token = TestMailServer.TokenOf(mail, "/invitations/accept");

        var accepted = (await Client.PostAsync("/v1/invitations/accept", new { token }, invitee.Token)).AssertStatus(HttpStatusCode.Created);
        Assert.Equal(org, (string?)accepted.Data["id"]);
        Assert.Equal("admin", (string?)accepted.Data["role"]);
        (await Client.GetAsync("/v1/resources", invitee.Token, InOrg(org))).AssertStatus(HttpStatusCode.OK);

        (await Client.PostAsync("/v1/invitations/accept", new { token }, invitee.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        var list = (await Client.GetAsync($"/v1/organizations/{org}/invitations", owner.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("accepted", (string?)list.Data[0]!["status"]);
        Assert.NotNull((string?)list.Data[0]!["accepted_at"]);
    }

    [Fact]
    public async Task Only_the_verified_owner_of_the_invited_email_can_accept()
    {
        var owner = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(owner);
        var unverified = await Client.RegisterAsync("unverified");
        var someoneElse = await VerifiedUserAsync();
        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = unverified.Email }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        var token = await InvitationTokenAsync(unverified.Email, 2);

        (await Client.PostAsync("/v1/invitations/accept", new { token }, unverified.Token)).AssertProblem(HttpStatusCode.Forbidden, "email_not_verified");
        (await Client.PostAsync("/v1/invitations/accept", new { token }, someoneElse.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        var (_, key) = await Client.CreateApiKeyAsync(unverified.Token);
        (await Client.PostAsync("/v1/invitations/accept", new { token }, Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PostAsync("/v1/invitations/accept", new { token })).AssertProblem(HttpStatusCode.Unauthorized, "authentication_required");
        (await Client.PostAsync("/v1/invitations/accept", new { token = "ivt_junk" }, unverified.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/resources", someoneElse.Token, InOrg(org))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        // Verified, the invitee can accept: the refusals used nothing up.
        (await Client.PostAsync("/v1/auth/verify-email", new { token = TestMailServer.TokenOf(Mail.For(unverified.Email)[0], "/verify-email") })).AssertStatus(HttpStatusCode.NoContent);
        (await Client.PostAsync("/v1/invitations/accept", new { token }, unverified.Token)).AssertStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Admins_and_owners_invite_members_cannot_and_outsiders_see_nothing()
    {
        var owner = await Client.RegisterAsync();
        var admin = await Client.RegisterAsync();
        var member = await Client.RegisterAsync();
        var outsider = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(owner);
        await Client.AddMemberAsync(owner, org, admin, "admin");
        await Client.AddMemberAsync(owner, org, member, "member");
        var address = $"new{Guid.NewGuid():N}@example.test";

        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = address }, member.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.GetAsync($"/v1/organizations/{org}/invitations", member.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = address }, outsider.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync($"/v1/organizations/{org}/invitations", outsider.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = address, role = "owner" }, admin.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = "nope" }, admin.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = address, role = "boss" }, admin.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = member.Email }, admin.Token)).AssertProblem(HttpStatusCode.Conflict, "already_exists");

        var created = (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = address }, admin.Token)).AssertStatus(HttpStatusCode.Created);
        Assert.Equal("member", (string?)created.Data["role"]);
        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = address }, owner.Token)).AssertProblem(HttpStatusCode.Conflict, "already_exists");
        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = $"boss{Guid.NewGuid():N}@example.test", role = "owner" }, owner.Token))
            .AssertStatus(HttpStatusCode.Created);

        var list = (await Client.GetAsync($"/v1/organizations/{org}/invitations?per_page=1", admin.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, (int?)list.Json["meta"]!["total"]);
        Assert.Single(list.Data.AsArray());
    }

    [Fact]
    public async Task A_deleted_or_expired_invitation_cannot_be_accepted()
    {
        var owner = await Client.RegisterAsync();
        var member = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(owner);
        await Client.AddMemberAsync(owner, org, member, "member");
        var deletedFor = await VerifiedUserAsync();
        var expiredFor = await VerifiedUserAsync();
        var deleted = (string)(await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = deletedFor.Email }, owner.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        var deletedToken = await InvitationTokenAsync(deletedFor.Email, 2);

        (await Client.DeleteAsync($"/v1/organizations/{org}/invitations/{deleted}", member.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.DeleteAsync($"/v1/organizations/{org}/invitations/{deleted}", deletedFor.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/organizations/{org}/invitations/inv_AAAAAAAAAAAAAAAAAAAAAA", owner.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/organizations/{org}/invitations/{deleted}", owner.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.PostAsync("/v1/invitations/accept", new { token = deletedToken }, deletedFor.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        (await Client.PostAsync($"/v1/organizations/{org}/invitations", new { email = expiredFor.Email }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        var expiredToken = await InvitationTokenAsync(expiredFor.Email, 2);
        Server.Time.Advance(TimeSpan.FromDays(7));
        (await Client.PostAsync("/v1/invitations/accept", new { token = expiredToken }, await Client.LoginTokenAsync(expiredFor)))
            .AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        // The expired one is listed as such; the one deleted a week ago is past the retention and purged.
        var ownerToken = await Client.LoginTokenAsync(owner);
        await Eventually.HoldsAsync(async () =>
        {
            var list = (await Client.GetAsync($"/v1/organizations/{org}/invitations", ownerToken)).AssertStatus(HttpStatusCode.OK);
            return list.Data.AsArray().Select(i => (string)i!["status"]!).SequenceEqual(["expired"]);
        }, "the deleted invitation to be purged");
    }
}

[Collection(Servers.Embedded)]
public sealed class InvitationTestsOnEmbedded(EmbeddedServer server) : InvitationTests(server);

[Collection(Servers.Postgres)]
public sealed class InvitationTestsOnPostgres(PostgresServer server) : InvitationTests(server);

using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Mail;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Users;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Organizations;

/// <summary>
/// Invitations to organizations: the organization's grain owns them (role checks, the pending list, acceptance with the
/// membership in one transaction); this service finds the accounts involved and sends the mail, after the answer.
/// </summary>
public sealed class InvitationService(GrainRefs grains, MailQueue mail, MailSender sender, IOptions<EmailOptions> email)
{
    /// <summary>How long an invitation can be accepted.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(7);

    /// <summary>Pending invitations an organization may have at once (a bound on what one admin can mail out).</summary>
    public const int MaxPending = 100;

    public async Task<InvitationView> InviteAsync(string orgId, string actorId, string invitationId, string address, string role)
    {
        var organization = grains.Get<IOrganizationGrain>(orgId);
        var existing = await grains.Get<IUniqueIndexGrain>(UniqueKeys.Email(address)).GetOwnerAsync();
        if (existing is not null && await organization.GetMembershipAsync(existing) is not null && await organization.GetMembershipAsync(actorId) is not null)
        {
            throw ApiException.AlreadyExists("email", "This email's account is a member already.");
        }

        var outcome = await organization.InviteAsync(actorId, new NewInvitation(invitationId, address, role, Lifetime, MaxPending));
        var invitation = Succeeded(outcome).Invitation!;
        if (outcome.Token is { } token)
        {
            var name = outcome.Organization?.Name ?? "an organization";
            mail.Enqueue("organization invitation", ct => sender.SendAsync(new MailMessage(invitation.Email, $"You are invited to join {name}", $"""
                Hello,

                you have been invited to join {name} as {invitation.Role}. To accept, sign in (or sign up) with this email address,
                verify it, and open this link within {Lifetime.TotalDays:0} days:

                {email.Value.Link("/invitations/accept", token)}

                If you did not expect this, you can ignore this mail.
                """), ct));
        }

        return invitation;
    }

    /// <summary>Accepts an invitation for the calling user, whose verified email must be the invited one.</summary>
    public async Task<InvitationOutcome> AcceptAsync(string userId, string token)
    {
        if (!InvitationTokens.TryParse(token, out var orgId, out var invitationId, out var secret))
        {
            throw ApiException.NotFound("The invitation");
        }

        var user = await grains.Get<IUserGrain>(userId).GetCredentialsAsync() ?? throw ApiException.NotFound("The user");
        return Succeeded(await grains.Get<IOrganizationGrain>(orgId).AcceptInvitationAsync(invitationId, secret, userId, user.Email, user.EmailVerified));
    }

    public static InvitationOutcome Succeeded(InvitationOutcome outcome) => outcome.Status switch
    {
        InvitationStatus.Done => outcome,
        InvitationStatus.Forbidden => throw ApiException.Forbidden("Your role in this organization does not allow this."),
        InvitationStatus.AlreadyInvited => throw ApiException.AlreadyExists("email",
            "A pending invitation for this email exists already; delete it to invite again."),
        InvitationStatus.AlreadyMember => throw ApiException.AlreadyExists("token", "You are a member of this organization already."),
        InvitationStatus.LimitReached => throw ApiException.Conflict($"The organization has {MaxPending} pending invitations; delete some first."),
        InvitationStatus.EmailMismatch => throw ApiException.Forbidden("This invitation is for another email address."),
        InvitationStatus.EmailNotVerified => throw new ApiException(StatusCodes.Status403Forbidden, ProblemCodes.EmailNotVerified,
            "Verify your email address before accepting an invitation sent to it."),
        _ => throw ApiException.NotFound("The invitation"),
    };
}

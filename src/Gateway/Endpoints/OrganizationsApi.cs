using System.Text.RegularExpressions;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Gateway.Organizations;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Users;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>An organization on the wire; <c>role</c> is the caller's role in it.</summary>
public sealed record OrganizationResponse(
    string Id, string Name, string Slug, string Plan, int MemberCount, string? Role, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static OrganizationResponse From(OrganizationView o, string? role) =>
        new(o.Id, o.Name, o.Slug, o.Plan, o.MemberCount, role, o.CreatedAt, o.UpdatedAt);
}

/// <summary>A member on the wire, with the member's public account details.</summary>
public sealed record MemberResponse(string UserId, string Role, DateTimeOffset JoinedAt, string? Email, string? Username, ProfileResponse? Profile)
{
    public static MemberResponse From(MemberView m, UserView? u) =>
        new(m.UserId, m.Role, m.JoinedAt, u?.Email, u?.Username,
            u is null ? null : new ProfileResponse(u.Profile.FirstName, u.Profile.LastName, u.Profile.AvatarUrl));
}

/// <summary>An invitation on the wire (never its token: that goes by mail only).</summary>
public sealed record InvitationResponse(
    string Id, string OrganizationId, string Email, string Role, string InvitedBy, string Status, DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt, DateTimeOffset? AcceptedAt)
{
    public static InvitationResponse From(InvitationView i) =>
        new(i.Id, i.OrganizationId, i.Email, i.Role, i.InvitedBy, i.Status, i.CreatedAt, i.ExpiresAt, i.AcceptedAt);
}

// Request bodies: each record is its OpenAPI schema and, in ReadAsync, its parser (400 naming every bad field).
// Parsed in the handler, not bound as parameters: binding would run before the endpoint filters that authenticate.

/// <summary>The body of <c>POST /v1/organizations/{id}/invitations</c>; the role defaults to member.</summary>
public sealed record CreateInvitationRequest(string Email, string? Role)
{
    public static async Task<CreateInvitationRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var email = Validation.Email(body);
        var role = OrganizationsApi.ReadRole(body) ?? OrgRoles.Member;
        body.ThrowIfInvalid();
        return new CreateInvitationRequest(email!, role);
    }
}

/// <summary>The body of <c>POST /v1/organizations</c>; read, the slug is the one given or derived from the name.</summary>
public sealed record CreateOrganizationRequest(string Name, string? Slug)
{
    public static async Task<CreateOrganizationRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var name = body.String("name", required: true, minLength: 1, maxLength: 100);
        var slug = OrganizationsApi.ReadSlug(body) ?? (name is null ? null : OrganizationsApi.Slugify(name));
        if (slug is not null && !OrganizationsApi.IsSlug(slug))
        {
            body.AddError("name", "cannot make a slug; give one of 2-64 letters, digits and '-'");
        }

        body.ThrowIfInvalid();
        return new CreateOrganizationRequest(name!, slug);
    }
}

/// <summary>The body of <c>PATCH /v1/organizations/{id}</c>: absent fields stay; a slug or plan cannot be null.</summary>
public sealed record UpdateOrganizationRequest(string? Name, string? Slug, string? Plan)
{
    public static async Task<UpdateOrganizationRequest> ReadAsync(HttpRequest request, PlanOptions plans)
    {
        var body = await JsonBody.ReadAsync(request);
        string? name = null;
        if (body.Has("name"))
        {
            name = body.String("name", required: true, minLength: 1, maxLength: 100);
        }

        if (body.IsNull("slug"))
        {
            body.AddError("slug", "cannot be null");
        }

        var slug = OrganizationsApi.ReadSlug(body);
        var plan = Validation.Plan(body, plans, nullable: false);
        body.ThrowIfInvalid();
        return new UpdateOrganizationRequest(name, slug, plan);
    }
}

/// <summary>The body of <c>POST /v1/organizations/{id}/members</c>; the role defaults to member.</summary>
public sealed record AddMemberRequest(string UserId, string? Role)
{
    public static async Task<AddMemberRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var userId = body.String("user_id", required: true, maxLength: 64);
        var role = OrganizationsApi.ReadRole(body) ?? OrgRoles.Member;
        body.ThrowIfInvalid();
        return new AddMemberRequest(userId!, role);
    }
}

/// <summary>The body of <c>PATCH /v1/organizations/{id}/members/{userId}</c>.</summary>
public sealed record UpdateMemberRequest(string Role)
{
    public static async Task<UpdateMemberRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var role = OrganizationsApi.ReadRole(body);
        if (role is null && !body.Root.TryGetProperty("role", out _))
        {
            body.AddError("role", "is required");
        }

        body.ThrowIfInvalid();
        return new UpdateMemberRequest(role!);
    }
}

/// <summary><c>/v1/organizations</c>: teams, their members and roles.</summary>
public static partial class OrganizationsApi
{
    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\\z")]
    private static partial Regex SlugPattern();

    internal static bool IsSlug(string slug) => SlugPattern().IsMatch(slug);

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonSlugRun();

    public static IEndpointRouteBuilder MapOrganizationsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/organizations").WithTags(ApiTags.Organizations).RequireCaller()
            .WithParameter("id", "The organization's id (org_…).")
            .WithParameter("userId", "The member's user id (usr_…).")
            .WithParameter("invitationId", "The invitation's id (inv_…).");

        group.MapGet("/", ListAsync)
            .Describe("listOrganizations", "List your organizations", "The organizations the caller is a member of, with the caller's role in each.")
            .Paged().Produces<ListEnvelope<OrganizationResponse>>().ProducesErrors(400, 401, 403);
        group.MapPost("/", CreateAsync).WithIdempotency()
            .Describe("createOrganization", "Create an organization",
                "Creates an organization with the caller as its owner. The slug is derived from the name unless given; a taken slug is 409.")
            .Accepts<CreateOrganizationRequest>("application/json")
            .Produces<DataEnvelope<OrganizationResponse>>(StatusCodes.Status201Created).ProducesErrors(400, 401, 402, 403, 409, 413, 415);
        group.MapGet("/{id}", GetAsync)
            .Describe("getOrganization", "Get an organization", "An organization the caller is a member of; any other is 404.")
            .WithContentETag().Produces<DataEnvelope<OrganizationResponse>>().ProducesErrors(401, 403, 404);
        group.MapPatch("/{id}", UpdateAsync)
            .Describe("updateOrganization", "Update an organization", "Renames the organization or changes its slug; needs the admin or owner role.")
            .Accepts<UpdateOrganizationRequest>("application/json")
            .Produces<DataEnvelope<OrganizationResponse>>().ProducesErrors(400, 401, 403, 404, 409, 413, 415);
        group.MapDelete("/{id}", DeleteAsync)
            .Describe("deleteOrganization", "Delete an organization", "Deletes the organization and revokes its API keys; owners only.")
            .Produces(StatusCodes.Status204NoContent).ProducesErrors(401, 403, 404);
        group.MapGet("/{id}/members", ListMembersAsync)
            .Describe("listMembers", "List an organization's members", "The members with their roles; visible to every member.")
            .Paged().Produces<ListEnvelope<MemberResponse>>().ProducesErrors(400, 401, 403, 404);
        group.MapPost("/{id}/members", AddMemberAsync).WithIdempotency()
            .Describe("addMember", "Add a member", "Adds an existing user with a role (default member); needs the admin or owner role. A member already there is 409.")
            .Accepts<AddMemberRequest>("application/json")
            .Produces<DataEnvelope<MemberResponse>>(StatusCodes.Status201Created).ProducesErrors(400, 401, 403, 404, 409, 413, 415);
        group.MapPatch("/{id}/members/{userId}", UpdateMemberAsync)
            .Describe("updateMember", "Change a member's role", "Changes a member's role; the last owner cannot be demoted (409).")
            .Accepts<UpdateMemberRequest>("application/json")
            .Produces<DataEnvelope<MemberResponse>>().ProducesErrors(400, 401, 403, 404, 409, 413, 415);
        group.MapDelete("/{id}/members/{userId}", RemoveMemberAsync)
            .Describe("removeMember", "Remove a member", "Removes a member (or lets a member leave); the last owner cannot leave (409).")
            .Produces(StatusCodes.Status204NoContent).ProducesErrors(401, 403, 404, 409);
        group.MapPost("/{id}/invitations", InviteAsync).WithIdempotency()
            .Describe("createInvitation", "Invite someone by email",
                "Mails an invitation to join the organization with a role; needs the admin or owner role (owner to invite an owner). "
                + "A pending invitation for the same email is 409.")
            .Accepts<CreateInvitationRequest>("application/json")
            .Produces<DataEnvelope<InvitationResponse>>(StatusCodes.Status201Created).ProducesErrors(400, 401, 403, 404, 409, 413, 415);
        group.MapGet("/{id}/invitations", ListInvitationsAsync)
            .Describe("listInvitations", "List an organization's invitations", "Pending and settled invitations, newest first; needs the admin or owner role.")
            .Paged().Produces<ListEnvelope<InvitationResponse>>().ProducesErrors(400, 401, 403, 404);
        group.MapDelete("/{id}/invitations/{invitationId}", RevokeInvitationAsync)
            .Describe("revokeInvitation", "Revoke an invitation", "Stops a pending invitation from being accepted; needs the admin or owner role.")
            .Produces(StatusCodes.Status204NoContent).ProducesErrors(401, 403, 404);
        return routes;
    }

    /// <summary>Invites an email address (admins and owners; owners for the owner role); the token goes by mail.</summary>
    private static async Task<Created<DataEnvelope<InvitationResponse>>> InviteAsync(
        string id, HttpContext context, InvitationService invitations, IdempotencyKeys idempotency)
    {
        var caller = context.GetCaller();
        var actor = caller.RequireUser();
        if (!Ids.IsValid(id, Ids.Organization))
        {
            throw ApiException.NotFound("The organization");
        }

        var (email, role) = await CreateInvitationRequest.ReadAsync(context.Request);
        var invitationId = idempotency.NewId(context, Ids.Invitation, caller.OwnerId);
        var invitation = await invitations.InviteAsync(id, actor, invitationId, email, role!);
        return TypedResults.Created($"/v1/organizations/{id}/invitations/{invitation.Id}",
            new DataEnvelope<InvitationResponse>(InvitationResponse.From(invitation)));
    }

    private static async Task<Ok<ListEnvelope<InvitationResponse>>> ListInvitationsAsync(string id, HttpContext context, GrainRefs grains)
    {
        var actor = context.GetCaller().RequireUser();
        var paging = Paging.From(context.Request);
        var list = await Organization(grains, id).ListInvitationsAsync(actor, paging.Offset, paging.PerPage);
        if (list.Status != InvitationStatus.Done)
        {
            InvitationService.Succeeded(new InvitationOutcome(list.Status));
        }

        return TypedResults.Ok(new ListEnvelope<InvitationResponse>(list.Page!.Items.Select(InvitationResponse.From).ToList(),
            PageMeta.Of(paging.Page, paging.PerPage, list.Page.Total)));
    }

    private static async Task<NoContent> RevokeInvitationAsync(string id, string invitationId, HttpContext context, GrainRefs grains)
    {
        var actor = context.GetCaller().RequireUser();
        var organization = Organization(grains, id);
        if (!Ids.IsValid(invitationId, Ids.Invitation))
        {
            // Outsiders get the organization's 404, members the invitation's.
            Succeeded(await organization.GetAsync(actor));
            throw ApiException.NotFound("The invitation");
        }

        InvitationService.Succeeded(await organization.RevokeInvitationAsync(actor, invitationId));
        return TypedResults.NoContent();
    }

    private static async Task<Ok<ListEnvelope<OrganizationResponse>>> ListAsync(HttpContext context, GrainRefs grains)
    {
        var userId = context.GetCaller().RequireUser();
        var paging = Paging.From(context.Request);
        var page = await grains.Get<IOrganizationDirectoryWorker>(0).ListOrganizationsAsync(userId, paging.Offset, paging.PerPage);
        var data = page.Items.Select(o => OrganizationResponse.From(o.Organization, o.Role)).ToList();
        return TypedResults.Ok(new ListEnvelope<OrganizationResponse>(data, PageMeta.Of(paging.Page, paging.PerPage, page.Total)));
    }

    private static async Task<Created<DataEnvelope<OrganizationResponse>>> CreateAsync(
        HttpContext context, GrainRefs grains, AccountCache accounts, IOptions<PlanOptions> plans, IdempotencyKeys idempotency)
    {
        var caller = context.GetCaller();
        var userId = caller.RequireUser();
        var (name, slug) = await CreateOrganizationRequest.ReadAsync(context.Request);
        var id = idempotency.NewId(context, Ids.Organization, caller.OwnerId);
        var userPlan = (await accounts.GetAsync(userId)).Plan;
        var cap = plans.Value.LimitsOf(userPlan).MaxOrganizations;
        var outcome = await grains.Get<IOrganizationGrain>(id).CreateAsync(name, slug!, plans.Value.DefaultPlan, userId, cap);
        if (outcome.Status == OrganizationStatus.PlanLimitReached)
        {
            throw ApiException.PlanLimit($"The '{userPlan}' plan allows owning {cap} organizations. Delete one, hand one over, or upgrade.");
        }

        var view = Succeeded(outcome).Organization!;
        return TypedResults.Created($"/v1/organizations/{id}", new DataEnvelope<OrganizationResponse>(OrganizationResponse.From(view, OrgRoles.Owner)));
    }

    private static async Task<Ok<DataEnvelope<OrganizationResponse>>> GetAsync(string id, HttpContext context, GrainRefs grains)
    {
        var userId = context.GetCaller().RequireUser();
        var outcome = Succeeded(await Organization(grains, id).GetAsync(userId));
        return TypedResults.Ok(new DataEnvelope<OrganizationResponse>(OrganizationResponse.From(outcome.Organization!, outcome.Member?.Role)));
    }

    /// <summary>
    /// Name and slug are the owners' to change; the plan is the system administrators' (who need not be members).
    /// Every permission is checked before anything changes; the grain claims a new slug and frees the old.
    /// </summary>
    private static async Task<Ok<DataEnvelope<OrganizationResponse>>> UpdateAsync(
        string id, HttpContext context, GrainRefs grains, IOptions<PlanOptions> plans)
    {
        var caller = context.GetCaller();
        var userId = caller.RequireUser();
        var organization = Organization(grains, id);
        var update = await UpdateOrganizationRequest.ReadAsync(context.Request, plans.Value);
        if (update.Plan is not null && !caller.IsAdministrator)
        {
            throw ApiException.Forbidden("Only a system administrator can change an organization's plan.");
        }

        var outcome = Succeeded(await organization.UpdateAsync(userId, new OrganizationUpdate(update.Name, update.Slug, update.Plan)));
        return TypedResults.Ok(new DataEnvelope<OrganizationResponse>(OrganizationResponse.From(outcome.Organization!, outcome.Member?.Role)));
    }

    /// <summary>
    /// Deletes the organization: members lose access at once, its resources and memberships go with it in one
    /// transaction, its API keys are revoked, and its slug is freed.
    /// </summary>
    private static async Task<NoContent> DeleteAsync(string id, HttpContext context, GrainRefs grains)
    {
        var userId = context.GetCaller().RequireUser();
        Succeeded(await Organization(grains, id).DeleteAsync(userId));
        return TypedResults.NoContent();
    }

    private static async Task<Ok<ListEnvelope<MemberResponse>>> ListMembersAsync(string id, HttpContext context, GrainRefs grains)
    {
        var userId = context.GetCaller().RequireUser();
        var paging = Paging.From(context.Request);
        var members = await Organization(grains, id).ListMembersAsync(userId) ?? throw ApiException.NotFound("The organization");
        var page = members.Skip(paging.Offset).Take(paging.PerPage).ToList();
        var users = await Task.WhenAll(page.Select(m => grains.Get<IUserGrain>(m.UserId).GetAsync()));
        var data = page.Select((m, i) => MemberResponse.From(m, users[i])).ToList();
        return TypedResults.Ok(new ListEnvelope<MemberResponse>(data, PageMeta.Of(paging.Page, paging.PerPage, members.Count)));
    }

    private static async Task<Created<DataEnvelope<MemberResponse>>> AddMemberAsync(string id, HttpContext context, GrainRefs grains)
    {
        var actor = context.GetCaller().RequireUser();
        var organization = Organization(grains, id);
        Succeeded(await organization.GetAsync(actor));
        var (userId, role) = await AddMemberRequest.ReadAsync(context.Request);
        var user = Ids.IsValid(userId, Ids.User) ? await grains.Get<IUserGrain>(userId).GetAsync() : null;
        if (user is null)
        {
            throw ApiException.NotFound("The user");
        }

        var outcome = await organization.AddMemberAsync(actor, user.Id, role!);
        if (outcome.Status == OrganizationStatus.AlreadyMember && context.Features.Get<IdempotencyAttempt>() is { Resumed: true } && outcome.Member!.Role == role)
        {
            // A retry of an add whose first answer was lost: the member is there, as asked.
            outcome = outcome with { Status = OrganizationStatus.Done };
        }
        else if (outcome.Status == OrganizationStatus.AlreadyMember)
        {
            throw ApiException.AlreadyExists("user_id", "The user is a member already; change the role with PATCH.");
        }

        var member = Succeeded(outcome).Member!;
        return TypedResults.Created($"/v1/organizations/{id}/members/{user.Id}", new DataEnvelope<MemberResponse>(MemberResponse.From(member, user)));
    }

    private static async Task<Ok<DataEnvelope<MemberResponse>>> UpdateMemberAsync(string id, string userId, HttpContext context, GrainRefs grains)
    {
        var actor = context.GetCaller().RequireUser();
        var organization = Organization(grains, id);
        Succeeded(await organization.GetAsync(actor));
        var request = await UpdateMemberRequest.ReadAsync(context.Request);
        var member = Succeeded(await organization.SetRoleAsync(actor, userId, request.Role)).Member!;
        var user = await grains.Get<IUserGrain>(member.UserId).GetAsync();
        return TypedResults.Ok(new DataEnvelope<MemberResponse>(MemberResponse.From(member, user)));
    }

    private static async Task<NoContent> RemoveMemberAsync(string id, string userId, HttpContext context, GrainRefs grains)
    {
        var actor = context.GetCaller().RequireUser();
        Succeeded(await Organization(grains, id).RemoveMemberAsync(actor, userId));
        return TypedResults.NoContent();
    }

    private static IOrganizationGrain Organization(GrainRefs grains, string id) =>
        Ids.IsValid(id, Ids.Organization) ? grains.Get<IOrganizationGrain>(id) : throw ApiException.NotFound("The organization");

    private static OrganizationOutcome Succeeded(OrganizationOutcome outcome) => outcome.Status switch
    {
        OrganizationStatus.Done => outcome,
        OrganizationStatus.Forbidden => throw ApiException.Forbidden("Your role in this organization does not allow this."),
        OrganizationStatus.NotMember => throw ApiException.NotFound("The member"),
        OrganizationStatus.AlreadyMember => throw ApiException.AlreadyExists("user_id", "The user is a member already."),
        OrganizationStatus.LastOwner => throw ApiException.Conflict("An organization must keep at least one owner. Make someone else an owner first."),
        OrganizationStatus.PlanLimitReached => throw ApiException.PlanLimit("The plan's limit is reached."),
        OrganizationStatus.SlugTaken => throw ApiException.AlreadyExists("slug", "An organization with this slug already exists."),
        _ => throw ApiException.NotFound("The organization"),
    };

    internal static string? ReadSlug(BodyReader body)
    {
        var slug = body.String("slug", maxLength: 64)?.ToLowerInvariant();
        if (slug is not null && !SlugPattern().IsMatch(slug))
        {
            body.AddError("slug", "must be 2-64 characters of a-z, 0-9 and '-', starting and ending with a letter or digit");
            return null;
        }

        if (slug is { Length: < 2 })
        {
            body.AddError("slug", "must be at least 2 characters");
            return null;
        }

        return slug;
    }

    internal static string? ReadRole(BodyReader body)
    {
        var role = body.String("role");
        if (role is not null && !OrgRoles.IsValid(role))
        {
            body.AddError("role", $"must be one of: {string.Join(", ", OrgRoles.All)}");
            return null;
        }

        return role;
    }

    /// <summary>A slug from a name: lower case, runs of other characters become '-'.</summary>
    internal static string Slugify(string name)
    {
        var slug = NonSlugRun().Replace(name.ToLowerInvariant(), "-").Trim('-');
        slug = slug.Length > 64 ? slug[..64].TrimEnd('-') : slug;
        return slug.Length >= 2 ? slug : slug + "-org";
    }
}

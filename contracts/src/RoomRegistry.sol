// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title RoomRegistry: liveroom's on-chain room registry.
/// @notice Storage keeps only what the contract checks (host, status, timestamps, live input
///         uid) in two packed slots per room; the room id string, title and other public text
///         travel in events only. Secrets (WHIP publish URLs, stream keys, SRT passphrases,
///         host tokens) are never passed to this contract.
/// @dev Roles: DEFAULT_ADMIN_ROLE grants/revokes OPERATOR_ROLE. An operator creates rooms and
///      may update/end any room; a room's host address may update/end its own room.
///      Role-gated functions (createRoom, grantRole, revokeRole) revert with OpenZeppelin's
///      AccessControlUnauthorizedAccount(account, role); the room-level check of updateRoom /
///      endRoom (operator or host) reverts with NotAuthorized(caller).
contract RoomRegistry is AccessControl {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice The block the registry was deployed in, where an event indexer starts scanning:
    ///         no earlier block can hold its events, so the backend needs no start-block setting.
    /// @dev Immutable: the value lives in the runtime bytecode, not in a storage slot, so the
    ///      storage layout below is unchanged.
    uint64 public immutable deployBlock;

    /// None = no such room (the zero value of an unwritten slot).
    enum Status {
        None,
        Active,
        Ended
    }

    /// slot 0: host (20 bytes) | status (1) | createdAt (8)   = 29 bytes
    /// slot 1: endedAt (8) | inputUid (16)                    = 24 bytes
    struct Room {
        address host;
        Status status;
        uint64 createdAt;
        uint64 endedAt;
        bytes16 inputUid;
    }

    mapping(bytes32 id => Room) private _rooms;

    event RoomCreated(
        bytes32 indexed id,
        address indexed host,
        bytes16 inputUid,
        uint64 createdAt,
        string roomId,
        string title,
        string meta
    );
    event RoomUpdated(bytes32 indexed id, string title);
    event RoomEnded(bytes32 indexed id, uint64 endedAt);

    error RoomExists(bytes32 id);
    error RoomNotFound(bytes32 id);
    error InvalidTransition(bytes32 id, uint8 status);
    error NotAuthorized(address account);

    /// @notice The deployer gets DEFAULT_ADMIN_ROLE and OPERATOR_ROLE (no constructor arguments);
    ///         deployBlock records the deployment block.
    constructor() {
        deployBlock = uint64(block.number);
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _grantRole(OPERATOR_ROLE, msg.sender);
    }

    /// @notice Registers a room. `id` must be keccak256(bytes(roomId)); `inputUid` is the
    ///         provider's 32-hex-char live input uid as 16 raw bytes; `meta` is backend-defined
    ///         public metadata (never secrets). Only operators.
    function createRoom(
        bytes32 id,
        address host,
        bytes16 inputUid,
        string calldata roomId,
        string calldata title,
        string calldata meta
    ) external onlyRole(OPERATOR_ROLE) {
        Room storage r = _rooms[id];
        if (r.status != Status.None) revert RoomExists(id);
        uint64 nowTs = uint64(block.timestamp);
        r.host = host;
        r.status = Status.Active;
        r.createdAt = nowTs;
        r.inputUid = inputUid;
        emit RoomCreated(id, host, inputUid, nowTs, roomId, title, meta);
    }

    /// @notice Announces a new title (event only, storage unchanged). Operator or host; room Active.
    function updateRoom(bytes32 id, string calldata title) external {
        Room storage r = _rooms[id];
        _checkRoom(id, r.status, r.host);
        emit RoomUpdated(id, title);
    }

    /// @notice Ends a room (Active -> Ended) and records endedAt. Operator or host.
    function endRoom(bytes32 id) external {
        Room storage r = _rooms[id];
        _checkRoom(id, r.status, r.host);
        uint64 nowTs = uint64(block.timestamp);
        r.status = Status.Ended;
        r.endedAt = nowTs;
        emit RoomEnded(id, nowTs);
    }

    /// @notice The stored room; an unknown id gives the zero struct (status None), no revert.
    function getRoom(bytes32 id) external view returns (Room memory) {
        return _rooms[id];
    }

    function _checkRoom(bytes32 id, Status status, address host) private view {
        if (status == Status.None) revert RoomNotFound(id);
        if (msg.sender != host && !hasRole(OPERATOR_ROLE, msg.sender)) revert NotAuthorized(msg.sender);
        if (status != Status.Active) revert InvalidTransition(id, uint8(status));
    }
}
